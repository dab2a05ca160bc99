// kubectl's typed-client commands (create namespace/configmap/secret/deployment/service/
// serviceaccount, drain --disable-eviction) send Kubernetes protobuf bodies; run and expose JSON. A real
// `bramble server` and the real kubectl, with a recording HTTP proxy in between: each body must
// be protobuf, decode to exactly the JSON kubectl prints for `--dry-run=client -o json`, and the
// stored object must read back right.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Server, Subprocess } from "bun";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { decodeKubernetesProtobuf } from "../src/server/apiserver/protobuf";
import { freePort, HOST_SAFE_NETWORKING } from "./helpers/server";
import { testEnv } from "./helpers/env";

const ROOT = resolve(import.meta.dir, "..");
const PROTOBUF = "application/vnd.kubernetes.protobuf";

interface Recorded {
  method: string;
  path: string;
  contentType: string;
  body: Uint8Array;
}

let dir: string;
let server: Subprocess<"ignore", "pipe", "pipe"> | undefined;
let proxy: Server<undefined> | undefined;
let recorded: Recorded[] = [];
let adminKubeconfig: string;
let proxyKubeconfig: string;


beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "bramble-kubectl-create-"));
  const port = freePort();
  server = Bun.spawn(["bun", join(ROOT, "src/main.ts"), "server", "--data-dir", dir, "--https-listen-port", String(port), "--advertise-address", "127.0.0.1", "--disable-agent", ...HOST_SAFE_NETWORKING], {
    cwd: ROOT,
    env: testEnv(),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  adminKubeconfig = join(dir, "server", "admin.kubeconfig");
  const upstream = `https://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (Date.now() > deadline) throw new Error("bramble server did not become ready");
    if (server.exitCode !== null) throw new Error(`bramble server exited with ${server.exitCode}`);
    if (existsSync(adminKubeconfig)) {
      const ok = await fetch(`${upstream}/readyz`, { tls: { rejectUnauthorized: false } }).then((r) => r.ok, () => false);
      if (ok) break;
    }
    await Bun.sleep(100);
  }
  const token = /token:\s*(\S+)/.exec(readFileSync(adminKubeconfig, "utf8"))![1]!;

  // kubectl sends no bearer token over plain HTTP, so the proxy adds it.
  proxy = Bun.serve({
    port: 0,
    async fetch(req) {
      const url = new URL(req.url);
      const body = req.method === "GET" || req.method === "HEAD" ? undefined : new Uint8Array(await req.arrayBuffer());
      if (body) recorded.push({ method: req.method, path: url.pathname, contentType: req.headers.get("content-type") ?? "", body });
      const headers = new Headers(req.headers);
      headers.delete("host");
      headers.set("authorization", `Bearer ${token}`);
      const res = await fetch(upstream + url.pathname + url.search, { method: req.method, headers, body, tls: { rejectUnauthorized: false } });
      return new Response(await res.arrayBuffer(), { status: res.status, headers: res.headers });
    },
  });
  proxyKubeconfig = join(dir, "proxy.kubeconfig");
  writeFileSync(
    proxyKubeconfig,
    `apiVersion: v1
kind: Config
clusters: [{name: proxy, cluster: {server: "http://127.0.0.1:${proxy.port}"}}]
users: [{name: none, user: {}}]
contexts: [{name: proxy, context: {cluster: proxy, user: none}}]
current-context: proxy
`,
  );
}, 60_000);

afterAll(async () => {
  proxy?.stop(true);
  if (server && server.exitCode === null) {
    server.kill("SIGKILL");
    await server.exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function run(kubeconfig: string, args: string[], stdin?: string) {
  const p = Bun.spawn(["kubectl", "--kubeconfig", kubeconfig, ...args], { stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe", env: testEnv() });
  const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  if (code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${code}):\n${stderr}\n${stdout}`);
  return stdout;
}
const k = (...args: string[]) => run(adminKubeconfig, args);
const getJson = async (...args: string[]) => JSON.parse(await k("get", ...args, "-o", "json"));

/**
 * Runs a kubectl command through the recording proxy and checks that it sent one body to `path`
 * (protobuf for the typed-client commands; `run` and `expose` send JSON in kubectl 1.32), decoding
 * to what kubectl prints for the same command with --dry-run=client -o json.
 */
async function createVia(path: string, args: string[], contentType = PROTOBUF) {
  recorded = [];
  await run(proxyKubeconfig, args);
  const sent = recorded.filter((r) => r.method === "POST" && r.path === path);
  expect(sent.length).toBe(1);
  const { contentType: got, body } = sent[0]!;
  expect(got).toBe(contentType);
  const decoded = got === PROTOBUF ? decodeKubernetesProtobuf(body) : JSON.parse(new TextDecoder().decode(body));
  const dash = args.includes("--") ? args.indexOf("--") : args.length; // flags go before the command
  const expected = JSON.parse(await k(...args.slice(0, dash), "--dry-run=client", "-o", "json", ...args.slice(dash)));
  expect(decoded).toEqual(expected);
}
const createViaProtobuf = (path: string, args: string[]) => createVia(path, args);

describe("kubectl typed-client commands send protobuf, and it decodes", () => {
  test("create namespace", async () => {
    await createViaProtobuf("/api/v1/namespaces", ["create", "namespace", "x"]);
    expect((await getJson("namespace", "x")).metadata.name).toBe("x");
  });

  test("create configmap --from-literal", async () => {
    await createViaProtobuf("/api/v1/namespaces/x/configmaps", ["create", "configmap", "c", "--from-literal=a=b", "-n", "x"]);
    const cm = await getJson("configmap", "c", "-n", "x");
    expect(cm.data).toEqual({ a: "b" });
    expect(cm.metadata.namespace).toBe("x");
  });

  test("create secret generic (bytes → base64)", async () => {
    await createViaProtobuf("/api/v1/namespaces/default/secrets", ["create", "secret", "generic", "s", "--from-literal=p=q"]);
    const s = await getJson("secret", "s");
    expect(s.data).toEqual({ p: Buffer.from("q").toString("base64") });
    expect(s.type).toBe("Opaque");
  });

  test("create deployment --replicas --port", async () => {
    await createViaProtobuf("/apis/apps/v1/namespaces/default/deployments", ["create", "deployment", "d", "--image=busybox:1.36", "--replicas=2", "--port=80"]);
    const d = await getJson("deployment", "d");
    expect(d.spec.replicas).toBe(2);
    expect(d.spec.selector).toEqual({ matchLabels: { app: "d" } });
    expect(d.spec.template.metadata.labels).toEqual({ app: "d" });
    const [c] = d.spec.template.spec.containers;
    expect(c).toMatchObject({ name: "busybox", image: "busybox:1.36", ports: [{ containerPort: 80, protocol: "TCP" }] });
  });

  test("create service clusterip --tcp (IntOrString targetPort)", async () => {
    await createViaProtobuf("/api/v1/namespaces/default/services", ["create", "service", "clusterip", "s2", "--tcp=80:8080"]);
    const svc = await getJson("service", "s2");
    expect(svc.spec.type).toBe("ClusterIP");
    expect(svc.spec.selector).toEqual({ app: "s2" });
    expect(svc.spec.ports).toEqual([{ name: "80-8080", port: 80, protocol: "TCP", targetPort: 8080 }]);
    expect(svc.spec.clusterIP).toMatch(/^10\.43\./);
  });

  test("create serviceaccount", async () => {
    await createViaProtobuf("/api/v1/namespaces/default/serviceaccounts", ["create", "serviceaccount", "sa1"]);
    expect((await getJson("serviceaccount", "sa1")).metadata.name).toBe("sa1");
  });

  test("run with env, labels and args", async () => {
    await createVia("/api/v1/namespaces/default/pods", ["run", "p", "--image=busybox:1.36", "--env=A=1", "--labels=x=y", "--", "sleep", "10"], "application/json");
    const pod = await getJson("pod", "p");
    expect(pod.metadata.labels).toEqual({ x: "y" });
    const [c] = pod.spec.containers;
    expect(c).toMatchObject({ name: "p", image: "busybox:1.36", args: ["sleep", "10"], env: [{ name: "A", value: "1" }] });
  });

  test("expose deployment", async () => {
    await createVia("/api/v1/namespaces/default/services", ["expose", "deployment", "d", "--port=80"], "application/json");
    const svc = await getJson("service", "d");
    expect(svc.spec.selector).toEqual({ app: "d" });
    expect(svc.spec.ports).toEqual([{ port: 80, protocol: "TCP", targetPort: 80 }]);
  });

  test("drain --disable-eviction deletes pods with protobuf DeleteOptions", async () => {
    await run(adminKubeconfig, ["apply", "-f", "-"], `
apiVersion: v1
kind: Node
metadata: {name: n1}
---
apiVersion: v1
kind: Pod
metadata: {name: on-n1, namespace: x}
spec:
  nodeName: n1
  containers: [{name: a, image: busybox:1.36}]
`);
    recorded = [];
    await run(proxyKubeconfig, ["drain", "n1", "--force", "--grace-period=0", "--disable-eviction", "--timeout=20s"]);
    const del = recorded.find((r) => r.method === "DELETE" && r.path === "/api/v1/namespaces/x/pods/on-n1");
    expect(del?.contentType).toBe(PROTOBUF);
    expect(decodeKubernetesProtobuf(del!.body)).toMatchObject({ kind: "DeleteOptions", gracePeriodSeconds: 0 });
    expect(await k("get", "pods", "-n", "x", "-o", "name")).not.toContain("on-n1");
  });
});
