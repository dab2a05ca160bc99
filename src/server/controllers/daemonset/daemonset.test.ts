import { afterAll, beforeAll, expect, test } from "bun:test";
import { daemonSets, type DaemonSet } from "../../../api/resources/apps/daemonset";
import { nodes, type Node } from "../../../api/resources/core/node";
import { pods, type Pod } from "../../../api/resources/core/pod";
import { eventually, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { startDaemonSetController } from ".";
import { REVISION_HASH } from "./pods";

let env: ControllerTestEnv;
let ctl: { stop(): Promise<void> };
let kubelet: { stop(): Promise<void> };
beforeAll(async () => {
  env = await startControllerTestEnv();
  ctl = await startDaemonSetController(env.client);
  kubelet = fakeKubelets();
});
afterAll(async () => {
  await kubelet.stop();
  await ctl.stop();
  await env.stop();
});

const nodesC = () => env.client.resource<Node>(nodes);
const podsC = () => env.client.resource<Pod>(pods);
const dsC = () => env.client.resource<DaemonSet>(daemonSets);

/** Every node's agent at once: bound pods become Running and Ready; terminating pods finish. */
function fakeKubelets() {
  let alive = true;
  const loop = (async () => {
    while (alive) {
      for (const p of (await podsC().list("default")).items) {
        if (!p.spec?.nodeName) continue;
        if (p.metadata.deletionTimestamp) await podsC().delete("default", p.metadata.name!, { gracePeriodSeconds: 0 }).catch(() => {});
        else if (p.status?.phase !== "Running")
          await podsC().patch("default", p.metadata.name!, { status: { phase: "Running", podIP: "10.42.0.5", conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2024-01-01T00:00:00Z" }] } }, "merge", "status").catch(() => {});
      }
      await Bun.sleep(20);
    }
  })();
  return {
    async stop() {
      alive = false;
      await loop;
    },
  };
}

const node = (name: string, labels: Record<string, string> = {}, taints?: Node["spec"] extends infer S ? (S extends { taints?: infer T } ? T : never) : never): Node => ({
  metadata: { name, labels: { "kubernetes.io/hostname": name, ...labels } },
  spec: { ...(taints && { taints }) },
  status: { conditions: [{ type: "Ready", status: "True" }] },
});

const daemonPods = async () => (await podsC().list("default", { labelSelector: "app=agent" })).items.filter((p) => !p.metadata.deletionTimestamp);
const onNodes = async () => (await daemonPods()).map((p) => p.spec!.nodeName!).sort();

test("one pod per eligible node: nodeSelector, taints, joins and leaves; rolling update; status", async () => {
  await nodesC().create(undefined, node("a", { role: "edge" }));
  await nodesC().create(undefined, node("b", { role: "edge" }));
  await nodesC().create(undefined, node("c")); // not selected
  await nodesC().create(undefined, node("d", { role: "edge" }, [{ key: "dedicated", value: "db", effect: "NoSchedule" }])); // not tolerated
  await nodesC().create(undefined, { ...node("e", { role: "edge" }), spec: { unschedulable: true } }); // cordoned: daemons still run
  await dsC().create("default", {
    metadata: { name: "agent" },
    spec: {
      selector: { matchLabels: { app: "agent" } },
      template: { metadata: { labels: { app: "agent" } }, spec: { nodeSelector: { role: "edge" }, containers: [{ name: "c", image: "agent:1" }] } },
    },
  });
  await eventually(async () => JSON.stringify(await onNodes()) === '["a","b","e"]', "pods on a, b, e");
  const pod = (await daemonPods())[0];
  expect(pod.metadata.ownerReferences![0]).toMatchObject({ kind: "DaemonSet", name: "agent", controller: true, blockOwnerDeletion: true });
  expect(pod.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0].matchFields![0]).toEqual({ key: "metadata.name", operator: "In", values: [pod.spec!.nodeName!] });
  expect(pod.spec!.tolerations!.map((t) => t.key)).toContain("node.kubernetes.io/unreachable");

  const status = await eventually(async () => {
    const s = (await dsC().get("default", "agent")).status;
    return s?.numberReady === 3 ? s : undefined;
  }, "status ready");
  expect(status).toMatchObject({ desiredNumberScheduled: 3, currentNumberScheduled: 3, numberMisscheduled: 0, numberAvailable: 3, updatedNumberScheduled: 3, observedGeneration: 1 });

  // Node join and leave (by label change).
  await nodesC().create(undefined, node("f", { role: "edge" }));
  await eventually(async () => (await onNodes()).includes("f"), "pod on the joining node");
  await nodesC().patch(undefined, "a", { metadata: { labels: { role: null } } });
  await eventually(async () => !(await onNodes()).includes("a"), "pod gone from the node that left");

  // Template change: every pod is replaced, with the new revision hash.
  const before = (await daemonPods())[0].metadata.labels![REVISION_HASH];
  await dsC().patch("default", "agent", { spec: { template: { spec: { containers: [{ name: "c", image: "agent:2" }] } } } }, "strategic");
  await eventually(async () => {
    const ps = await daemonPods();
    return ps.length === 3 && ps.every((p) => p.spec!.containers[0].image === "agent:2" && p.metadata.labels![REVISION_HASH] !== before);
  }, "rolled out");
  await eventually(async () => {
    const s = (await dsC().get("default", "agent")).status;
    return s?.updatedNumberScheduled === 3 && s.numberAvailable === 3 && s.observedGeneration === 2;
  }, "status after rollout");
});

test("a second pod on a node (e.g. after a lagging cache) is removed; the oldest stays", async () => {
  const [first] = await daemonPods();
  const extra = structuredClone(first);
  // Created in the same second as the first, the tie is broken by name: "zz-" sorts last.
  extra.metadata = { name: "zz-agent-extra", labels: first.metadata.labels, ownerReferences: first.metadata.ownerReferences };
  delete extra.status;
  await podsC().create("default", extra);
  await eventually(async () => (await daemonPods()).filter((p) => p.spec!.nodeName === first.spec!.nodeName).length === 1, "duplicate removed");
  expect((await daemonPods()).some((p) => p.metadata.name === first.metadata.name)).toBe(true);
});
