// The built-in ingress controller for real: a `bramble server` whose embedded agent serves
// Ingresses on free high ports, busybox httpd pods on the Docker engine behind two Services, and
// the installed kubectl and curl. Host and path routing over HTTP, HTTPS where SNI picks each
// host's certificate (made with openssl here), a rotated certificate served without a restart,
// a 404 for a host no rule names, a Warning event for a certificate that does not parse, and the
// nodes' address in `kubectl get ingress`.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { selfSigned, tlsData } from "../src/agent/ingress/testing";
import { ensureTestImage } from "../src/agent/images/testimage";
import { dockerForTests } from "../src/agent/runtime/docker/testing";
import { missingCommand, requirements } from "../src/machinery/test-requirements";
import { eventually as poll } from "./helpers/eventually";
import { removePodsOf, servingContainer } from "./helpers/pods";
import { freePort, parseJson, startTestServer, type TestServer } from "./helpers/server";

const docker = await dockerForTests("ingress tests");
const skip = docker ? requirements("ingress tests", missingCommand("curl"), missingCommand("openssl")) : "no Docker engine";
setDefaultTimeout(60_000);
const NS = `ing-${Date.now().toString(36)}`;
let s: TestServer;
const HTTP = freePort();
const HTTPS = freePort();

const eventually = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 45_000) => poll(what, f, { timeoutMs, intervalMs: 200, context: () => s?.log.slice(-5000) ?? "" });
const kc = (...args: string[]) => s.kubectl("-n", NS, ...args);
const apply = async (obj: unknown) => {
  const r = await s.kubectlWith({ stdin: JSON.stringify(obj) }, "-n", NS, "apply", "-f", "-");
  expect(r.stderr).toBe("");
};

/** curl through the node's ingress port with `host` resolved to it: [status, body]. */
async function curl(scheme: "http" | "https", host: string, path: string): Promise<[number, string]> {
  const port = scheme === "http" ? HTTP : HTTPS;
  const p = Bun.spawn(["curl", "-sk", "--max-time", "5", "--resolve", `${host}:${port}:127.0.0.1`, "-w", "\n%{http_code}", `${scheme}://${host}:${port}${path}`], { stdout: "pipe", stderr: "pipe" });
  const out = (await new Response(p.stdout).text()).trimEnd();
  await p.exited;
  const nl = out.lastIndexOf("\n");
  return [Number(out.slice(nl + 1)), out.slice(0, Math.max(nl, 0)).trim()];
}

/** The CN of the certificate the HTTPS port presents for a server name. */
async function servedCN(serverName: string): Promise<string> {
  const p = Bun.spawn(["sh", "-c", `openssl s_client -connect 127.0.0.1:${HTTPS} -servername ${serverName} </dev/null 2>/dev/null | openssl x509 -noout -subject`], { stdout: "pipe", stderr: "ignore" });
  const out = await new Response(p.stdout).text();
  await p.exited;
  return /CN\s*=\s*([^,\n]+)/.exec(out)?.[1]?.trim() ?? "";
}

// Each pod answers with its own name, at / and below /api/.
const httpd = (name: string) => servingContainer(`mkdir -p /www/api && echo ${name} > /www/index.html && echo ${name}-api > /www/api/index.html && httpd -p 8080 -h /www`);
const pod = (name: string) => ({ apiVersion: "v1", kind: "Pod", metadata: { name, labels: { app: name } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "web", ...httpd(name), ports: [{ containerPort: 8080 }] }] } });
const tlsSecret = (name: string, c: { cert: string; key: string }) => ({ apiVersion: "v1", kind: "Secret", metadata: { name }, type: "kubernetes.io/tls", data: tlsData(c) });

describe.skipIf(!!skip)("the built-in ingress controller", () => {
  beforeAll(async () => {
    await ensureTestImage(docker!);
    process.env.BRAMBLE_KUBELET_PORT = "0";
    s = await startTestServer({ agent: true, args: ["--disable=coredns", "--ingress-http-port", String(HTTP), "--ingress-https-port", String(HTTPS)] });
    expect((await s.kubectl("create", "namespace", NS)).code).toBe(0);
    await apply(pod("shop"));
    await apply(pod("api"));
    await apply({ apiVersion: "v1", kind: "Service", metadata: { name: "shop" }, spec: { selector: { app: "shop" }, ports: [{ port: 80, targetPort: 8080 }] } });
    await apply({ apiVersion: "v1", kind: "Service", metadata: { name: "api" }, spec: { selector: { app: "api" }, ports: [{ name: "web", port: 8000, targetPort: 8080 }] } });
    await apply(tlsSecret("shop-tls", selfSigned("shop.test")));
    await apply(tlsSecret("apps-tls", selfSigned("*.apps.test")));
    await apply({
      apiVersion: "networking.k8s.io/v1",
      kind: "Ingress",
      metadata: { name: "web" },
      spec: {
        tls: [
          { hosts: ["shop.test"], secretName: "shop-tls" },
          { hosts: ["*.apps.test"], secretName: "apps-tls" },
        ],
        rules: [
          {
            host: "shop.test",
            http: {
              paths: [
                { path: "/", pathType: "Prefix", backend: { service: { name: "shop", port: { number: 80 } } } },
                { path: "/api", pathType: "Prefix", backend: { service: { name: "api", port: { name: "web" } } } },
              ],
            },
          },
          { host: "*.apps.test", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "api", port: { number: 8000 } } } }] } },
        ],
      },
    });
  }, 120_000);

  afterAll(async () => {
    await s?.cleanup();
    if (docker) await removePodsOf(docker, NS);
  }, 60_000);

  test("HTTP is routed by host and path to the ready pods", async () => {
    await eventually("shop.test/ answered by the shop pod", async () => (await curl("http", "shop.test", "/"))[1] === "shop");
    expect(await curl("http", "shop.test", "/api/")).toEqual([200, "api-api"]);
    // Prefix matches whole path elements: /apiary goes to the shop pod (by "/"), which has no such file.
    const [missing, text] = await curl("http", "shop.test", "/apiary");
    expect(missing).toBe(404);
    expect(text).not.toBe("404 page not found");
    expect(await curl("http", "blog.apps.test", "/")).toEqual([200, "api"]);
    const [status, body] = await curl("http", "unknown.test", "/");
    expect(status).toBe(404);
    expect(body).toBe("404 page not found");
  });

  test("HTTPS: SNI picks each host's certificate; a rotated Secret is served without a restart", async () => {
    await eventually("the shop certificate for shop.test", async () => (await servedCN("shop.test")) === "shop.test");
    expect(await servedCN("blog.apps.test")).toBe("*.apps.test");
    expect(await curl("https", "shop.test", "/")).toEqual([200, "shop"]);
    expect(await curl("https", "blog.apps.test", "/api/")).toEqual([200, "api-api"]);

    await apply(tlsSecret("shop-tls", selfSigned("shop.test", "shop.test rotated")));
    await eventually("the rotated certificate", async () => (await servedCN("shop.test")) === "shop.test rotated");
    expect(await curl("https", "shop.test", "/")).toEqual([200, "shop"]);
  });

  test("kubectl get ingress shows the class and the node's address; a bad certificate is a Warning event", async () => {
    const row = await eventually("an ADDRESS", async () => {
      const line = (await kc("get", "ingress", "web", "--no-headers")).stdout.trim().split(/\s+/);
      return /^\d+\.\d+\.\d+\.\d+$/.test(line[3] ?? "") ? line : undefined;
    });
    expect(row.slice(0, 3)).toEqual(["web", "bramble", "shop.test,*.apps.test"]);
    expect(row[4]).toBe("80,"); // "80, 443" splits on the space
    const nodes = parseJson(await s.kubectl("get", "nodes", "-o", "json")).items;
    const ip = nodes[0].status.addresses.find((a: { type: string }) => a.type === "InternalIP").address;
    expect(row[3]).toBe(ip);

    await apply({ apiVersion: "v1", kind: "Secret", metadata: { name: "bad-tls" }, type: "kubernetes.io/tls", data: { "tls.crt": btoa("not a certificate"), "tls.key": btoa("not a key") } });
    await apply({ apiVersion: "networking.k8s.io/v1", kind: "Ingress", metadata: { name: "broken" }, spec: { tls: [{ hosts: ["broken.test"], secretName: "bad-tls" }], rules: [{ host: "broken.test", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "shop", port: { number: 80 } } } }] } }] } });
    const event = await eventually("a Warning event on the Ingress", async () =>
      parseJson(await kc("get", "events", "-o", "json")).items.find((e: any) => e.involvedObject.name === "broken" && e.reason === "InvalidCertificate"),
    );
    expect(event.type).toBe("Warning");
    expect(event.message).toContain("bad-tls");
    // The other certificates are still served, and the broken Ingress's routes work over HTTP.
    expect(await servedCN("shop.test")).toBe("shop.test rotated");
    expect(await curl("http", "broken.test", "/")).toEqual([200, "shop"]);
  });
});
