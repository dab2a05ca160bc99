import { expect, test } from "bun:test";
import { ApiError } from "../../../api/errors";
import type { ApiContext } from "../handlers/context";
import { isGlobalUnicast, podLocation, serviceLocation, splitSchemeNamePort } from "./proxy-target";

test("ids split as net.SplitSchemeNamePort splits them", () => {
  expect(splitSchemeNamePort("web")).toEqual({ scheme: "", name: "web", port: "" });
  expect(splitSchemeNamePort("web:80")).toEqual({ scheme: "", name: "web", port: "80" });
  expect(splitSchemeNamePort("https:web:443")).toEqual({ scheme: "https", name: "web", port: "443" });
  expect(splitSchemeNamePort("http:web:http")).toEqual({ scheme: "http", name: "web", port: "http" });
  expect(splitSchemeNamePort("http:web:")).toEqual({ scheme: "http", name: "web", port: "" });
  for (const bad of ["ftp:web:21", ":80", "http::80", "a:b:c:d", ""]) expect(splitSchemeNamePort(bad)).toBeUndefined();
});

test("only global unicast addresses may be proxied to, as upstream's pod ResourceLocation checks", () => {
  for (const ok of ["10.42.0.7", "172.17.0.2", "192.168.1.4", "fd00::1", "2001:db8::1"]) expect(isGlobalUnicast(ok)).toBe(true);
  for (const bad of ["", "127.0.0.1", "0.0.0.0", "169.254.1.1", "224.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "ff02::1", "300.1.1.1", "web"]) expect(isGlobalUnicast(bad)).toBe(false);
});

// A context with just the objects the lookups read.
function ctxWith(objects: Record<string, any>): ApiContext {
  const key = (plural: string, ns: string | undefined, name: string) => `${plural}/${ns ?? ""}/${name}`;
  const tryGet = (def: { plural: string }, ns: string | undefined, name: string) => objects[key(def.plural, ns, name)];
  return {
    resource: (_g: string, plural: string) => ({ plural }),
    objects: {
      tryGet,
      get: (def: { plural: string }, ns: string | undefined, name: string) => {
        const o = tryGet(def, ns, name);
        if (!o) throw new ApiError(404, "NotFound", `${def.plural} "${name}" not found`);
        return o;
      },
    },
  } as unknown as ApiContext;
}

const refused = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return { code: (e as ApiError).code, message: (e as ApiError).message };
  }
  throw new Error("accepted");
};

const pod = (name: string, ip: string | undefined, ports: { name?: string; containerPort: number }[] = []) => ({
  metadata: { name, namespace: "d" },
  spec: { containers: [{ name: "c", ports }] },
  status: ip ? { podIP: ip, podIPs: [{ ip }] } : {},
});

test("a pod is its IP with the asked port, a named container port, or its first declared port", () => {
  const ctx = ctxWith({ "pods/d/web": pod("web", "10.42.0.7", [{ name: "http", containerPort: 8080 }]), "pods/d/bare": pod("bare", "10.42.0.8"), "pods/d/new": pod("new", undefined), "pods/d/v6": pod("v6", "fd00::7") });
  expect(podLocation(ctx, "d", "web")).toMatchObject({ scheme: "http", host: "10.42.0.7:8080", port: 8080 });
  expect(podLocation(ctx, "d", "web:9000")).toMatchObject({ host: "10.42.0.7:9000" });
  expect(podLocation(ctx, "d", "https:web:http")).toMatchObject({ scheme: "https", host: "10.42.0.7:8080" });
  expect(podLocation(ctx, "d", "bare")).toMatchObject({ host: "10.42.0.8", port: 80 });
  expect(podLocation(ctx, "d", "v6:80")).toMatchObject({ host: "[fd00::7]:80", hostname: "fd00::7" });
  expect(refused(() => podLocation(ctx, "d", "new:80"))).toEqual({ code: 400, message: "address not allowed" });
  expect(refused(() => podLocation(ctx, "d", "gone"))).toEqual({ code: 404, message: 'pods "gone" not found' });
  expect(refused(() => podLocation(ctx, "d", "ftp:web:21"))).toEqual({ code: 400, message: 'invalid pod request "ftp:web:21"' });
  expect(refused(() => podLocation(ctx, "d", "web:metrics"))).toMatchObject({ code: 400 });
  expect(refused(() => podLocation(ctx, "d", "web:70000"))).toMatchObject({ code: 400 });
});

test("a Service is a ready endpoint whose pod still holds the address; otherwise upstream's 503s", () => {
  const svc = (ports: { name?: string; port: number }[]) => ({ metadata: { name: "web", namespace: "d" }, spec: { ports } });
  const ref = (name: string) => ({ kind: "Pod", namespace: "d", name });
  const ctx = ctxWith({
    "services/d/web": svc([{ name: "http", port: 80 }, { name: "admin", port: 81 }]),
    "endpoints/d/web": { subsets: [{ addresses: [{ ip: "10.42.0.9", targetRef: ref("stale") }, { ip: "10.42.0.7", targetRef: ref("a") }], notReadyAddresses: [{ ip: "10.42.0.8", targetRef: ref("b") }], ports: [{ name: "http", port: 8080 }] }] },
    "pods/d/a": pod("a", "10.42.0.7"),
    "pods/d/stale": pod("stale", "10.42.0.99"),
    "services/d/empty": svc([{ port: 80 }]),
    "endpoints/d/empty": { subsets: [] },
  });
  const first = () => 0;
  // The address whose pod has moved on is skipped.
  expect(serviceLocation(ctx, "d", "web:80", first)).toMatchObject({ scheme: "http", host: "10.42.0.7:8080" });
  expect(serviceLocation(ctx, "d", "https:web:http", first)).toMatchObject({ scheme: "https", host: "10.42.0.7:8080" });
  expect(refused(() => serviceLocation(ctx, "d", "web:82", first))).toEqual({ code: 503, message: 'no service port 82 found for service "web"' });
  expect(refused(() => serviceLocation(ctx, "d", "web:81", first))).toEqual({ code: 503, message: 'no endpoints available for service "web:81"' });
  expect(refused(() => serviceLocation(ctx, "d", "empty", first))).toEqual({ code: 503, message: 'no endpoints available for service "empty"' });
  expect(refused(() => serviceLocation(ctx, "d", "nope:80", first))).toEqual({ code: 404, message: 'services "nope" not found' });
  expect(refused(() => serviceLocation(ctx, "d", "a:b:c:d", first))).toEqual({ code: 400, message: 'invalid service request "a:b:c:d"' });
});
