// ServiceLB against a real `bramble server` with simulated nodes, through the real kubectl:
// `kubectl get svc` shows a LoadBalancer's EXTERNAL-IP as the nodes' addresses, the enablelb
// node label narrows them, a type change clears them, and the cluster DNS address cannot be
// taken by a Service.
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
  server = await startTestServer({ args: ["--disable-agent"] });
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
