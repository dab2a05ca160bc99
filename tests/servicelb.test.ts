// ServiceLB against a real `bramble server` with simulated nodes, through the real kubectl:
// `kubectl get svc` shows a LoadBalancer's EXTERNAL-IP as the nodes' addresses, the enablelb
// node label narrows them, a type change clears them, externalTrafficPolicy Local gets a health
// check NodePort, the cluster DNS address cannot be taken by a Service, and the kube-dns Service
// sits at it with the nodes as endpoints.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { eventually, kubectlFor, startSim, stopAllSims, type SimProcess } from "./helpers/cluster";
import { startTestServer, type TestServer } from "./helpers/server";

let server: TestServer;
let sim: SimProcess;
let kubectl: ReturnType<typeof kubectlFor>["k"];

const until = <T>(what: string, f: () => Promise<T | undefined | false>) => eventually(what, f, { intervalMs: 100, context: () => `sim log:\n${sim.log}` });

/** The EXTERNAL-IP column of `kubectl get svc <name>`. */
const externalIP = async (name: string) => (await kubectl("get", "svc", name, "--no-headers")).trim().split(/\s+/)[3];

beforeAll(async () => {
  // The cluster DNS on (the default): simulated nodes run no DNS, but the server makes kube-dns.
  server = await startTestServer({ args: ["--disable-agent", "--disable=ingress"] });
  kubectl = kubectlFor(server).k;
  sim = startSim(server, { nodes: 2 });
  await until("2 Ready nodes", async () => (await kubectl("get", "nodes", "--no-headers")).trim().split("\n").filter((l) => /\sReady\s/.test(l)).length === 2);
}, 60_000);

afterAll(async () => {
  await stopAllSims();
  await server?.cleanup();
});

test("kubectl get svc shows a LoadBalancer's EXTERNAL-IP as the nodes' addresses; the enablelb label narrows them; a type change clears them", async () => {
  await kubectl("create", "service", "loadbalancer", "web", "--tcp=80:8080");
  expect(await until("both node addresses", async () => ((await externalIP("web")) === "172.31.0.1,172.31.0.2" ? true : undefined))).toBe(true);

  await kubectl("label", "node", "sim-1", "svccontroller.k3s.cattle.io/enablelb=true");
  await until("only sim-1", async () => (await externalIP("web")) === "172.31.0.2");
  await kubectl("label", "node", "sim-1", "svccontroller.k3s.cattle.io/enablelb-");
  await until("both again", async () => (await externalIP("web")) === "172.31.0.1,172.31.0.2");

  // A strategic merge patch of the type alone: the LoadBalancer's NodePort and policy go with it.
  await kubectl("patch", "svc", "web", "-p", '{"spec":{"type":"ClusterIP"}}');
  expect(await externalIP("web")).toBe("<none>");
  const svc = JSON.parse(await kubectl("get", "svc", "web", "-o", "json"));
  expect(svc.spec.ports[0].nodePort).toBeUndefined();
  expect(svc.status.loadBalancer).toEqual({});
}, 60_000);

test("the cluster DNS address cannot be given to a Service", async () => {
  const r = await server.kubectl("create", "service", "clusterip", "dns-thief", "--tcp=53:53", "--clusterip=10.43.0.10");
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain('spec.clusterIPs: Invalid value: []string{"10.43.0.10"}: failed to allocate IP 10.43.0.10: provided IP is already allocated');
}, 30_000);

test("a LoadBalancer with externalTrafficPolicy Local gets a healthCheckNodePort, kept across an edit and dropped with the policy", async () => {
  await kubectl("create", "service", "loadbalancer", "local-web", "--tcp=80:8080");
  await kubectl("patch", "svc", "local-web", "-p", '{"spec":{"externalTrafficPolicy":"Local"}}');
  const port = Number(await kubectl("get", "svc", "local-web", "-o", "jsonpath={.spec.healthCheckNodePort}"));
  expect(port).toBeGreaterThanOrEqual(30000);
  expect(port).toBeLessThanOrEqual(32767);
  expect((await kubectl("describe", "svc", "local-web")).match(/HealthCheck NodePort:\s+(\d+)/)?.[1]).toBe(String(port));
  await kubectl("annotate", "svc", "local-web", "edited=yes");
  expect(Number(await kubectl("get", "svc", "local-web", "-o", "jsonpath={.spec.healthCheckNodePort}"))).toBe(port);
  await kubectl("patch", "svc", "local-web", "-p", '{"spec":{"externalTrafficPolicy":"Cluster"}}');
  expect(await kubectl("get", "svc", "local-web", "-o", "jsonpath={.spec.healthCheckNodePort}")).toBe("");
}, 30_000);

test("kubectl shows the kube-dns Service at the cluster DNS address, with the nodes as its endpoints (upstream's DNS debugging steps)", async () => {
  const svc = (await kubectl("get", "svc", "-n", "kube-system", "kube-dns", "--no-headers")).trim().split(/\s+/);
  expect(svc.slice(0, 5)).toEqual(["kube-dns", "ClusterIP", "10.43.0.10", "<none>", "53/UDP,53/TCP,9153/TCP"]);
  const ep = await until("kube-dns endpoints on both nodes", async () => {
    const line = (await kubectl("get", "endpoints", "kube-dns", "-n", "kube-system", "--no-headers")).trim();
    return line.includes("172.31.0.1:53") && line.includes("172.31.0.2:53") ? line : undefined;
  });
  expect(ep).toStartWith("kube-dns ");
  const slices = (await kubectl("get", "endpointslices", "-l", "k8s-app=kube-dns", "-n", "kube-system", "--no-headers")).trim().split("\n");
  expect(slices).toHaveLength(1);
  expect(slices[0]!.split(/\s+/).slice(0, 2)).toEqual(["kube-dns", "IPv4"]);
  // No DNS pods: every node answers at the address itself.
  const pods = await server.kubectl("get", "pods", "-n", "kube-system", "-l", "k8s-app=kube-dns");
  expect(pods.stderr).toContain("No resources found in kube-system namespace.");
}, 30_000);
