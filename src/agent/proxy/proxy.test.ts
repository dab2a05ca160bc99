// startServiceProxy end to end: a real API server (in-process, over HTTP), the proxy's informers,
// and its rules in a real kernel (namespaces the test creates, bpx-*). Root only.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DEFAULT_CLUSTER_NETWORK } from "../../api/cluster-network";
import { endpointSlices as slicesDef, type EndpointSlice } from "../../api/resources/discovery/endpointslice";
import { services as servicesDef, type Service } from "../../api/resources/core/service";
import { createLogger } from "../../machinery/log";
import type { CommandRunner } from "../host/run";
import { startHttpTestApi, type HttpTestApi } from "../../server/apiserver/testing";
import { endpointSlice } from "./fixtures";
import { resetServiceProxy } from "./iptables";
import { createNetnsLab, netnsLabMissing, LAB, type NetnsLab } from "./netns-lab";
import { startServiceProxy, type ServiceProxy } from "./proxy";
import { requirements } from "../../machinery/test-requirements";

const BODY = "served through the proxy\n";
const cluster = { ...DEFAULT_CLUSTER_NETWORK, clusterCidr: LAB.clusterCidr, serviceCidr: LAB.serviceCidr };
const log = createLogger("proxy-test", { level: "warn" });

/** Polls until f() returns what `ok` accepts; returns the last value (the assertion is the caller's). */
async function eventually<T>(f: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  let v = await f();
  while (!ok(v) && Date.now() < end) {
    await Bun.sleep(50);
    v = await f();
  }
  return v;
}

describe.skipIf(!!requirements("the service proxy against a real API server", netnsLabMissing()))("startServiceProxy against a real API server", () => {
  let lab: NetnsLab;
  let env: HttpTestApi;
  const proxies: ServiceProxy[] = [];
  const nat = async () => (await lab.runNode(["iptables-save", "-t", "nat"])).stdout;

  beforeAll(async () => {
    lab = await createNetnsLab("bpx");
    await lab.serve([8080], BODY);
    env = await startHttpTestApi({ serviceCidr: LAB.serviceCidr });
  }, 60_000);
  afterAll(async () => {
    for (const p of proxies) await p.stop();
    await env?.stop();
    await lab?.destroy();
  }, 60_000);

  test("Services and EndpointSlices written to the API become working rules; changes follow; deletion removes them; a restart takes over", async () => {
    const svcs = env.client.resource<Service>(servicesDef);
    const slices = env.client.resource<EndpointSlice>(slicesDef);
    const web = await svcs.create("default", {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "web" },
      spec: { type: "NodePort", selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] },
    } as Service);
    const ip = web.spec!.clusterIP!;
    const nodePort = web.spec!.ports![0]!.nodePort!;
    expect(ip).toMatch(/^10\.43\./);
    const { resourceVersion: _, ...meta } = endpointSlice("default", "web", []).metadata;
    await slices.create("default", { ...endpointSlice("default", "web", [{ ip: LAB.endpoint, node: "node-a" }]), metadata: meta });

    const proxy = await startServiceProxy({ client: env.client, nodeName: "node-a", nodeIps: [LAB.nodeOutside], cluster, run: lab.runNode, log });
    proxies.push(proxy);
    // The first sync is done when startServiceProxy returns.
    expect(await lab.get(lab.node, `http://${ip}/`)).toBe(BODY);
    expect(await lab.get(lab.client, `http://${LAB.nodeOutside}:${nodePort}/`)).toBe(BODY);

    const setEndpoint = async (a: Parameters<typeof endpointSlice>[2][number]) => {
      const current = await slices.get("default", meta.name!);
      await slices.update({ ...current, endpoints: endpointSlice("default", "web", [a]).endpoints });
    };
    // The endpoint goes not-ready: the ClusterIP is refused.
    await setEndpoint({ ip: LAB.endpoint, node: "node-a", ready: false });
    expect(await eventually(() => lab.get(lab.node, `http://${ip}/`, 1), (v) => v === "ERR 7")).toBe("ERR 7");
    // Terminating but still serving, and no ready endpoint left: traffic falls back to it.
    await setEndpoint({ ip: LAB.endpoint, node: "node-a", terminating: true, serving: true });
    expect(await eventually(() => lab.get(lab.node, `http://${ip}/`, 1), (v) => v === BODY)).toBe(BODY);
    // Terminating and no longer serving: refused again.
    await setEndpoint({ ip: LAB.endpoint, node: "node-a", terminating: true, serving: false });
    expect(await eventually(() => lab.get(lab.node, `http://${ip}/`, 1), (v) => v === "ERR 7")).toBe("ERR 7");
    // And ready again.
    await setEndpoint({ ip: LAB.endpoint, node: "node-a" });
    expect(await eventually(() => lab.get(lab.node, `http://${ip}/`, 1), (v) => v === BODY)).toBe(BODY);

    // A restarted proxy (the agent restarting) rebuilds from the API; nothing is duplicated.
    await proxy.stop();
    expect(await lab.get(lab.node, `http://${ip}/`)).toBe(BODY);
    const restarted = await startServiceProxy({ client: env.client, nodeName: "node-a", nodeIps: [LAB.nodeOutside], cluster, run: lab.runNode, log });
    proxies.push(restarted);
    expect(await lab.get(lab.node, `http://${ip}/`)).toBe(BODY);
    expect((await nat()).match(/-A PREROUTING .*BRAMBLE-SERVICES/g)?.length).toBe(1);
    expect((await nat()).match(/^:BRAMBLE-SVC-/gm)?.length).toBe(1);

    // Deleting the Service removes its chains.
    await svcs.delete("default", "web");
    expect(await eventually(nat, (t) => !/BRAMBLE-(SVC|EXT)-/.test(t))).not.toMatch(/BRAMBLE-(SVC|EXT)-/);
    expect(await lab.get(lab.node, `http://${ip}/`, 1)).toBe("ERR 7");

    await restarted.stop();
    expect(await resetServiceProxy(lab.runNode)).toMatch(/^service proxy: removed \d+ iptables chains and 10 jumps/);
  }, 60_000);
});

describe("startServiceProxy's sync loop (recorded commands, no root)", () => {
  test("a failed restore is logged and retried as a full sync carrying everything; bursts coalesce", async () => {
    const env = await startHttpTestApi({ serviceCidr: LAB.serviceCidr });
    const lines: string[] = [];
    const quiet = createLogger("proxy-test", { level: "warn", write: (l) => lines.push(l) });
    const restores: string[] = [];
    let failures = 1;
    const run: CommandRunner = async (argv, stdin) => {
      if (argv[0] === "iptables-restore") {
        if (failures > 0 && restores.length > 0) {
          failures--;
          return { code: 2, stdout: "", stderr: "iptables-restore: line 7 failed" };
        }
        restores.push(stdin ?? "");
      }
      return { code: 0, stdout: argv[0] === "iptables-save" ? "*nat\nCOMMIT\n*filter\nCOMMIT\n" : "", stderr: "" };
    };
    const proxy = await startServiceProxy({ client: env.client, nodeName: "node-a", nodeIps: [], cluster, run, log: quiet });
    try {
      expect(restores.length).toBe(1);
      const svcs = env.client.resource<Service>(servicesDef);
      // Ten Services at once: far fewer restores than Services.
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          svcs.create("default", { apiVersion: "v1", kind: "Service", metadata: { name: `s${i}` }, spec: { ports: [{ port: 80 }] } } as Service),
        ),
      );
      const deadline = Date.now() + 15_000;
      while (!restores.some((r) => r.includes("default/s9:80 has no endpoints") && r.includes(":BRAMBLE-SERVICES")) && Date.now() < deadline) await Bun.sleep(50);
      await proxy.idle();
      // The first change failed and was logged; the retry was a full sync (it declares the
      // static chains and reads the tables again) carrying every Service.
      expect(lines.some((l) => l.includes("applying Service rules failed") && l.includes("line 7 failed"))).toBe(true);
      const last = restores.at(-1)!;
      for (let i = 0; i < 10; i++) expect(last).toContain(`default/s${i}:80 has no endpoints`);
      expect(last).toContain(":BRAMBLE-POSTROUTING - [0:0]");
      expect(restores.length).toBeLessThan(10);
    } finally {
      await proxy.stop();
      await env.stop();
    }
  }, 60_000);
});
