// `kubectl apply -f` of a file whose top-level object is `kind: List` (what `kubectl get -o yaml`
// prints for several objects), with the real kubectl 1.32 and default flags — no --validate=false.
// For a List kubectl validates on the client against /openapi/v2, which it asks for as gnostic
// protobuf; before the server spoke that, every such apply failed with "proto: cannot parse
// invalid wire-format data".
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseJson, startTestServer, type TestServer } from "./helpers/server";

setDefaultTimeout(60_000);

let s: TestServer;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "bramble-apply-list-"));
  s = await startTestServer();
}, 60_000);
afterAll(async () => {
  await s?.cleanup();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

let files = 0;
/** Writes a manifest to its own file and runs `kubectl apply -f <file>` on it. */
function applyFile(manifest: string, ...args: string[]) {
  const file = join(dir, `list-${++files}.yaml`);
  writeFileSync(file, manifest);
  return s.kubectl("apply", "-f", file, ...args);
}

const configMap = (name: string, data: Record<string, string>) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data });
const service = (name: string) => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
});
const deployment = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "web", image: "bramble-test:1" }] } },
    ...spec,
  },
});
/** A List as YAML (JSON is YAML; kubectl reads it the same). Block style would not change what is validated. */
const list = (...items: unknown[]) => JSON.stringify({ apiVersion: "v1", kind: "List", items }, null, 2);

const getJson = async (...args: string[]) => {
  const r = await s.kubectl("get", ...args, "-o", "json");
  expect(r.stderr).toBe("");
  return parseJson(r) as Record<string, any>;
};
const exists = async (kind: string, name: string) => (await s.kubectl("get", kind, name)).code === 0;

describe("kubectl apply -f of a kind: List", () => {
  const valid = list(configMap("app-config", { mode: "fast" }), service("web"), deployment("web"));

  test("creates every item, validated on the client against /openapi/v2", async () => {
    const r = await applyFile(valid);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(["configmap/app-config created", "service/web created", "deployment.apps/web created"]);
    expect((await getJson("configmap", "app-config")).data).toEqual({ mode: "fast" });
    const svc = await getJson("service", "web");
    expect(svc.spec.ports).toMatchObject([{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }]);
    const deploy = await getJson("deployment", "web");
    expect(deploy.spec.replicas).toBe(1);
    expect(deploy.spec.template.spec.containers.map((c: any) => c.name)).toEqual(["web"]);
  });

  test("applying the same List again changes nothing", async () => {
    const before = (await getJson("deployment", "web")).metadata.resourceVersion;
    const r = await applyFile(valid);
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toEqual(["configmap/app-config unchanged", "service/web unchanged", "deployment.apps/web unchanged"]);
    expect((await getJson("deployment", "web")).metadata.resourceVersion).toBe(before);
  });

  test("a changed List is patched item by item (strategic merge on containers by name)", async () => {
    const changed = list(
      configMap("app-config", { mode: "slow" }),
      service("web"),
      deployment("web", {
        replicas: 2,
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "web", image: "bramble-test:2" }, { name: "sidecar", image: "bramble-test:1" }] },
        },
      }),
    );
    const r = await applyFile(changed);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toEqual(["configmap/app-config configured", "service/web unchanged", "deployment.apps/web configured"]);
    expect((await getJson("configmap", "app-config")).data).toEqual({ mode: "slow" });
    const deploy = await getJson("deployment", "web");
    expect(deploy.spec.replicas).toBe(2);
    expect(deploy.spec.template.spec.containers.map((c: any) => [c.name, c.image])).toEqual([
      ["web", "bramble-test:2"],
      ["sidecar", "bramble-test:1"],
    ]);
  });

  test("an item with an unknown field is refused by kubectl's validation, and nothing in the List is applied", async () => {
    const bad = list(configMap("not-created", { a: "b" }), deployment("typo", { foo: "bar" }));
    const r = await applyFile(bad);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("error validating data: ValidationError(Deployment.spec): unknown field \"foo\"");
    expect(r.stderr).toContain("turn validation off with --validate=false");
    expect(r.stdout).toBe("");
    expect(await exists("configmap", "not-created")).toBe(false);
    expect(await exists("deployment", "typo")).toBe(false);
  });

  test("an item with a wrong type is refused with a message naming the field and both types", async () => {
    const r = await applyFile(list(deployment("wrong-type", { replicas: "three" })));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("ValidationError(Deployment.spec.replicas): invalid type for");
    expect(r.stderr).toContain('replicas: got "string", expected "integer"');
    expect(await exists("deployment", "wrong-type")).toBe(false);
  });

  test("kubectl create -f of a List validates the same way", async () => {
    const file = join(dir, "create-list.yaml");
    writeFileSync(file, list(configMap("created-from-list", { x: "y" }), service("created-from-list")));
    const r = await s.kubectl("create", "-f", file);
    expect(r.stderr).toBe("");
    expect(r.stdout.trim().split("\n")).toEqual(["configmap/created-from-list created", "service/created-from-list created"]);
    writeFileSync(file, list(service("refused"), { ...configMap("refused", {}), spec: { replicas: 1 } }));
    const bad = await s.kubectl("create", "-f", file);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('ValidationError(ConfigMap): unknown field "spec"');
    expect(await exists("service", "refused")).toBe(false);
  });

  test("the server answers kubectl's protobuf request for /openapi/v2 with the protobuf form", async () => {
    const res = await s.fetch("/openapi/v2", { headers: { accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf" } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/com.github.proto-openapi.spec.v2.v1.0+protobuf");
    const etag = res.headers.get("etag")!;
    const body = new Uint8Array(await res.arrayBuffer());
    expect(body[0]).toBe(0x0a); // field 1 (swagger), length-delimited
    expect(new TextDecoder().decode(body.subarray(2, 2 + body[1]!))).toBe("2.0");
    const again = await s.fetch("/openapi/v2", { headers: { accept: "application/com.github.proto-openapi.spec.v2@v1.0+protobuf", "if-none-match": etag } });
    expect(again.status).toBe(304);
    expect((await s.fetch("/openapi/v2")).headers.get("content-type")).toBe("application/json");
  });
});
