import { afterAll, beforeAll, expect, test } from "bun:test";
import { leases, type Lease } from "../../../api/resources/coordination/lease";
import { nodes, type Node } from "../../../api/resources/core/node";
import { pods, type Pod } from "../../../api/resources/core/pod";
import { eventually, getOrUndefined, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { microTime } from "../leader";
import { startNodeLifecycleController } from ".";
import { UNREACHABLE } from "./taints";

let env: ControllerTestEnv;
let ctl: { stop(): Promise<void> };
beforeAll(async () => {
  env = await startControllerTestEnv();
  ctl = await startNodeLifecycleController(env.client, { nodeMonitorGracePeriodS: 0.4, notReadyTolerationS: 0.3 });
});
afterAll(async () => {
  await ctl.stop();
  await env.stop();
});

const now = () => new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
const nodesC = () => env.client.resource<Node>(nodes);
const podsC = () => env.client.resource<Pod>(pods);
const leasesC = () => env.client.resource<Lease>(leases);
const readyConditions = () => [
  { type: "Ready", status: "True", reason: "KubeletReady", lastHeartbeatTime: now(), lastTransitionTime: now() },
  { type: "MemoryPressure", status: "False", lastHeartbeatTime: now(), lastTransitionTime: now() },
];

/** A fake agent: registers the node Ready and renews its Lease until stopped. */
async function fakeAgent(name: string) {
  await nodesC().create(undefined, { metadata: { name }, status: { conditions: readyConditions() } });
  await leasesC().create("kube-node-lease", { metadata: { name }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime() } });
  let alive = true;
  const beat = (async () => {
    while (alive) {
      const l = await leasesC().get("kube-node-lease", name);
      await leasesC().update({ ...l, spec: { ...l.spec, renewTime: microTime() } });
      await Bun.sleep(50);
    }
  })();
  return {
    async die() {
      alive = false;
      await beat;
    },
  };
}

async function runningPod(name: string, node: string, tolerations?: Pod["spec"] extends infer S ? (S extends { tolerations?: infer T } ? T : never) : never) {
  await podsC().create("default", { metadata: { name }, spec: { nodeName: node, containers: [{ name: "c", image: "busybox" }], ...(tolerations && { tolerations }) } });
  await podsC().patch("default", name, { status: { phase: "Running", podIP: "10.42.9.9", conditions: [{ type: "Ready", status: "True" }] } }, "merge", "status");
}

test("a heartbeating node stays Ready; a silent one goes Unknown, is tainted, and its pods are marked lost then force-deleted after their toleration", async () => {
  const healthy = await fakeAgent("healthy");
  const doomed = await fakeAgent("doomed");
  await runningPod("on-healthy", "healthy");
  await runningPod("victim", "doomed");
  await runningPod("patient", "doomed", [{ key: UNREACHABLE, operator: "Exists", effect: "NoExecute" }]); // tolerates forever
  await doomed.die();

  const lost = await eventually(async () => {
    const n = await nodesC().get(undefined, "doomed");
    return n.status?.conditions?.every((c) => c.status === "Unknown") && n.spec?.taints?.some((t) => t.key === UNREACHABLE && t.effect === "NoExecute") ? n : undefined;
  }, "doomed Unknown and tainted");
  expect(lost.status!.conditions!.find((c) => c.type === "Ready")).toMatchObject({ reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status." });
  expect(lost.spec!.taints!.find((t) => t.effect === "NoExecute")!.timeAdded).toBeDefined();

  const patient = await eventually(async () => {
    const p = await podsC().get("default", "patient");
    return p.status?.reason === "NodeLost" ? p : undefined;
  }, "pod marked lost");
  expect(patient.status!.conditions!.find((c) => c.type === "Ready")!.status).toBe("False");
  await eventually(async () => !(await getOrUndefined(podsC().get("default", "victim"))), "victim force-deleted");
  expect(await getOrUndefined(podsC().get("default", "patient"))).toBeDefined();

  const h = await nodesC().get(undefined, "healthy");
  expect(h.status!.conditions!.find((c) => c.type === "Ready")!.status).toBe("True");
  expect(h.spec?.taints ?? []).toEqual([]);
  expect((await podsC().get("default", "on-healthy")).status?.reason).toBeUndefined();
  await healthy.die();
});

test("a node that comes back and reports Ready loses the unreachable taint", async () => {
  const agent = await fakeAgent("flaky");
  await agent.die();
  await eventually(async () => (await nodesC().get(undefined, "flaky")).spec?.taints?.length === 2, "tainted");
  // The agent returns: renews its lease and posts Ready again.
  const l = await leasesC().get("kube-node-lease", "flaky");
  await leasesC().update({ ...l, spec: { ...l.spec, renewTime: microTime() } });
  await nodesC().patch(undefined, "flaky", { status: { conditions: readyConditions() } }, "strategic", "status");
  await eventually(async () => ((await nodesC().get(undefined, "flaky")).spec?.taints ?? []).length === 0, "untainted");
});

test("a node with no Lease is judged by its Ready heartbeat", async () => {
  await nodesC().create(undefined, { metadata: { name: "leaseless" }, status: { conditions: readyConditions() } });
  await eventually(async () => (await nodesC().get(undefined, "leaseless")).status?.conditions?.[0].status === "Unknown", "Unknown without heartbeats");
});
