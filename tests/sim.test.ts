// `bramble sim` against a real `bramble server`, driven by the real kubectl: nodes register and
// show every `get nodes -o wide` column, a pod bound to a sim node runs and is deleted
// gracefully, and a SIGKILLed sim stops renewing its Leases (the power-cut case the node
// lifecycle controller must notice).
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { startSimNodes, type SimNodes } from "./helpers/sim";
import { ROOT, startTestServer, type TestServer } from "./helpers/server";
import { eventually as poll } from "./helpers/eventually";
import { testEnv } from "./helpers/env";

const MAIN = join(ROOT, "src", "main.ts");
let server: TestServer;
let sim: SimNodes | undefined;

const until = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 20_000) => poll(what, f, { timeoutMs, intervalMs: 100, context: () => `sim log:\n${sim?.log() ?? ""}` });

const kubectl = async (...args: string[]) => {
  const r = await server.kubectl(...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

beforeAll(async () => {
  server = await startTestServer({ args: ["--disable-agent"] });
  sim = startSimNodes(server, 3, "--cpu", "2", "--memory", "4Gi");
}, 60_000);

afterAll(async () => {
  await sim?.kill();
  await server?.cleanup();
});

test("kubectl get nodes shows 3 Ready sim nodes with the wide columns filled", async () => {
  const rows = await until("3 Ready nodes", async () => {
    const out = await kubectl("get", "nodes", "-o", "wide", "--no-headers");
    const lines = out.trim().split("\n").filter(Boolean).map((l) => l.split(/\s{2,}/));
    return lines.length === 3 && lines.every((l) => l[1] === "Ready") ? lines : undefined;
  });
  expect(rows.map((r) => r[0]).sort()).toEqual(["sim-0", "sim-1", "sim-2"]);
  for (const [name, , roles, , version, internalIP, externalIP, osImage, kernel, runtime] of rows) {
    expect(roles).toBe("<none>");
    expect(version).toBe("v1.32.0-bramble");
    expect(internalIP).toBe(`172.31.0.${Number(name!.slice(4)) + 1}`);
    expect(externalIP).toBe("<none>");
    expect(osImage).toBe("Bramble Simulated Node");
    expect(kernel).not.toBe("<unknown>");
    expect(runtime).toMatch(/^sim:\/\//);
  }
  const capacity = JSON.parse(await kubectl("get", "node", "sim-0", "-o", "jsonpath={.status.capacity}"));
  expect(capacity).toEqual({ cpu: "2", memory: "4Gi", pods: "110" });
}, 30_000);

test("a pod created with spec.nodeName sim-1 becomes Running and is deleted gracefully", async () => {
  const manifest = `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  nodeName: sim-1
  containers:
  - name: web
    image: nginx:1.27
`;
  const r = await server.kubectlWith({ stdin: manifest }, "apply", "-f", "-");
  expect(r.code).toBe(0);
  const ip = await until("web Running", async () => {
    const out = await kubectl("get", "pod", "web", "-o", "jsonpath={.status.phase} {.status.podIP} {.status.hostIP}");
    const [phase, podIP, hostIP] = out.split(" ");
    return phase === "Running" ? { podIP, hostIP } : undefined;
  });
  // From sim-1's pod CIDR (which /24 each node gets depends on the order they registered in).
  const cidr = await kubectl("get", "node", "sim-1", "-o", "jsonpath={.spec.podCIDR}");
  expect(cidr).toMatch(/^10\.42\.\d+\.0\/24$/);
  expect(ip.podIP!.startsWith(cidr.replace(/0\/24$/, ""))).toBe(true);
  expect(ip.hostIP).toBe("172.31.0.2");
  expect(await kubectl("get", "pod", "web", "--no-headers")).toMatch(/^web\s+1\/1\s+Running\s+0/);
  // kubectl delete waits until the pod is really gone: the sim must finish the deletion.
  const del = await server.kubectlWith({ timeoutMs: 30_000 }, "delete", "pod", "web", "--timeout=20s");
  expect(del.code).toBe(0);
  const after = await server.kubectl("get", "pod", "web");
  expect(after.stderr).toContain("NotFound");
}, 60_000);

test("kubectl get endpointslices shows the slice of a Service with ready pods", async () => {
  const manifest = `apiVersion: v1
kind: Pod
metadata:
  name: shop
  labels: {app: shop}
spec:
  nodeName: sim-2
  containers:
  - name: shop
    image: nginx:1.27
    ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata:
  name: shop
spec:
  selector: {app: shop}
  ports: [{name: http, port: 80, targetPort: http}]
`;
  const r = await server.kubectlWith({ stdin: manifest }, "apply", "-f", "-");
  expect(r.code).toBe(0);
  const podIP = await until("shop Running", async () => {
    const out = await kubectl("get", "pod", "shop", "-o", "jsonpath={.status.phase} {.status.podIP}");
    const [phase, ip] = out.split(" ");
    return phase === "Running" && ip ? ip : undefined;
  });
  const row = await until("the shop slice listing the pod", async () => {
    const out = await kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=shop", "--no-headers");
    const cells = out.trim().split(/\s+/);
    return cells[3] === podIP ? cells : undefined;
  });
  expect(row[0]).toMatch(/^shop-[a-z0-9]{5}$/);
  expect(row.slice(1, 4)).toEqual(["IPv4", "8080", podIP]);
  const slice = JSON.parse(await kubectl("get", "endpointslice", row[0]!, "-o", "json"));
  expect(slice.metadata.labels["endpointslice.kubernetes.io/managed-by"]).toBe("endpointslice-controller.k8s.io");
  expect(slice.metadata.ownerReferences[0]).toMatchObject({ kind: "Service", name: "shop", controller: true });
  expect(slice.endpoints).toEqual([
    { addresses: [podIP], conditions: { ready: true, serving: true, terminating: false }, nodeName: "sim-2", targetRef: { kind: "Pod", namespace: "default", name: "shop", uid: expect.any(String) } },
  ]);
  // Deleting the Service takes its slices along (they are owned by it).
  expect((await server.kubectlWith({ timeoutMs: 30_000 }, "delete", "service", "shop")).code).toBe(0);
  await until("the shop slice gone", async () => (await kubectl("get", "endpointslices", "-l", "kubernetes.io/service-name=shop", "-o", "name")).trim() === "");
  await server.kubectlWith({ timeoutMs: 30_000 }, "delete", "pod", "shop", "--wait=false");
}, 60_000);

test("SIGKILL stops the Lease renewals; the nodes stay registered", async () => {
  const renewTime = () => kubectl("get", "lease", "-n", "kube-node-lease", "sim-0", "-o", "jsonpath={.spec.renewTime}");
  const first = await until("sim-0's lease", async () => (await renewTime()) || undefined);
  await until("a renewal", async () => (await renewTime()) !== first);

  await sim!.kill();
  const last = await renewTime();
  // Three heartbeat intervals without a renewal; a live sim renews every second.
  await Bun.sleep(3_000);
  expect(await renewTime()).toBe(last);
  expect(await kubectl("get", "nodes", "-o", "name")).toContain("node/sim-0");
}, 40_000);

test("a bad flag exits non-zero with one line naming it", async () => {
  const p = Bun.spawn(["bun", MAIN, "sim", "--kubeconfig", server.kubeconfig, "--memory", "lots"], { cwd: ROOT, env: testEnv(), stdout: "pipe", stderr: "pipe" });
  const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
  expect(code).not.toBe(0);
  expect(stderr.trim().split("\n")).toEqual([`bramble: --memory: "lots" is not a positive quantity (e.g. 8Gi or 512Mi)`]);
});
