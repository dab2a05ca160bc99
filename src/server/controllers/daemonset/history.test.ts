// DaemonSet revisions (ControllerRevisions, rollback, revisionHistoryLimit) and maxSurge, against
// an in-process API server with fake kubelets; plus the rolling-update planner on its own.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { controllerRevisions, type ControllerRevision } from "../../../api/resources/apps/controllerrevision";
import { daemonSets, type DaemonSet } from "../../../api/resources/apps/daemonset";
import { nodes, type Node } from "../../../api/resources/core/node";
import { pods, type Pod } from "../../../api/resources/core/pod";
import { eventually, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { CONTROLLER_REVISION_HASH, sortRevisions, templatePatch } from "../history";
import { startDaemonSetController } from ".";
import { planNodes, rollingUpdate } from "./plan";

const NS = "hist";
let env: ControllerTestEnv;
let ctl: { stop(): Promise<void> };
let kubelet: { stop(): Promise<void> };
beforeAll(async () => {
  env = await startControllerTestEnv();
  await env.client.resource(nodes).list(); // the API is up
  await env.client.resource({ group: "", version: "v1", plural: "namespaces", namespaced: false }).create(undefined, { metadata: { name: NS } });
  for (const n of ["n1", "n2", "n3"]) await env.client.resource<Node>(nodes).create(undefined, node(n));
  ctl = await startDaemonSetController(env.client);
  kubelet = fakeKubelets();
});
afterAll(async () => {
  await kubelet.stop();
  await ctl.stop();
  await env.stop();
});

const node = (name: string): Node => ({ metadata: { name, labels: { "kubernetes.io/hostname": name } }, status: { conditions: [{ type: "Ready", status: "True" }] } });
const podsC = () => env.client.resource<Pod>(pods);
const dsC = () => env.client.resource<DaemonSet>(daemonSets);
const crC = () => env.client.resource<ControllerRevision>(controllerRevisions);

/** Bound pods turn Running and Ready unless their image says "never-ready"; terminating pods finish. */
function fakeKubelets() {
  let alive = true;
  const loop = (async () => {
    while (alive) {
      for (const p of (await podsC().list(NS)).items) {
        if (p.metadata.deletionTimestamp) await podsC().delete(NS, p.metadata.name!, { gracePeriodSeconds: 0 }).catch(() => {});
        else if (p.status?.phase !== "Running" && !p.spec!.containers[0].image!.includes("never-ready"))
          await podsC().patch(NS, p.metadata.name!, { status: { phase: "Running", conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2024-01-01T00:00:00Z" }] } }, "merge", "status").catch(() => {});
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

const revisionsOf = async (name: string) => sortRevisions((await crC().list(NS)).items.filter((r) => r.metadata.ownerReferences?.[0]?.name === name));
const livePods = async (app: string) => (await podsC().list(NS, { labelSelector: `app=${app}` })).items.filter((p) => !p.metadata.deletionTimestamp);
const ds = (name: string, image: string, extra: Partial<NonNullable<DaemonSet["spec"]>> = {}): DaemonSet => ({
  metadata: { name, annotations: { "kubernetes.io/change-cause": `image ${image}` } },
  spec: {
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image }] } },
    ...extra,
  },
});

/** All pods on the given revision hash and Running, one per node. */
const rolledTo = async (app: string, hash: string) => {
  const ps = await livePods(app);
  return ps.length === 3 && ps.every((p) => p.metadata.labels?.[CONTROLLER_REVISION_HASH] === hash && p.status?.phase === "Running");
};

describe("DaemonSet revisions", () => {
  test("a revision per template; pods carry its hash; a rollback renumbers the old revision; annotations copied", async () => {
    await dsC().create(NS, ds("web", "web:1"));
    const [first] = await eventually(async () => {
      const revs = await revisionsOf("web");
      return revs.length === 1 ? revs : undefined;
    }, "first revision");
    const hash1 = first.metadata.labels![CONTROLLER_REVISION_HASH];
    expect(first.metadata.name).toBe(`web-${hash1}`);
    expect(first.revision).toBe(1);
    expect(first.metadata.labels).toMatchObject({ app: "web" });
    expect(first.metadata.annotations?.["kubernetes.io/change-cause"]).toBe("image web:1");
    expect(first.metadata.ownerReferences![0]).toMatchObject({ kind: "DaemonSet", name: "web", controller: true });
    const live = await dsC().get(NS, "web");
    expect(first.data).toEqual(templatePatch(live.spec!.template));
    await eventually(() => rolledTo("web", hash1), "pods on revision 1");

    await dsC().patch(NS, "web", { metadata: { annotations: { "kubernetes.io/change-cause": "image web:2" } }, spec: { template: { spec: { containers: [{ name: "c", image: "web:2" }] } } } }, "strategic");
    const revs = await eventually(async () => {
      const r = await revisionsOf("web");
      return r.length === 2 ? r : undefined;
    }, "second revision");
    const hash2 = revs[1].metadata.labels![CONTROLLER_REVISION_HASH];
    expect(revs.map((r) => r.revision)).toEqual([1, 2]);
    expect(revs[1].metadata.annotations?.["kubernetes.io/change-cause"]).toBe("image web:2");
    await eventually(() => rolledTo("web", hash2), "pods on revision 2");
    await eventually(async () => (await dsC().get(NS, "web")).status?.updatedNumberScheduled === 3, "status updated");

    // What `kubectl rollout undo` does: the old revision's data as a strategic merge patch.
    await dsC().patch(NS, "web", revs[0].data, "strategic");
    await eventually(async () => {
      const r = await revisionsOf("web");
      return r.length === 2 && r[1].metadata.name === first.metadata.name && r[1].revision === 3;
    }, "revision 1 renumbered to 3");
    await eventually(() => rolledTo("web", hash1), "pods back on the first template");
    expect((await livePods("web"))[0].spec!.containers[0].image).toBe("web:1");
  });

  test("revisionHistoryLimit: old revisions no pod uses are deleted, oldest first", async () => {
    await dsC().create(NS, ds("lim", "lim:1", { revisionHistoryLimit: 1 }));
    for (const [i, image] of ["lim:2", "lim:3"].entries()) {
      // Revision i+1 exists and every pod runs it before the next template comes.
      const hash = await eventually(async () => {
        const latest = (await revisionsOf("lim")).at(-1);
        return latest?.revision === i + 1 ? latest.metadata.labels?.[CONTROLLER_REVISION_HASH] : undefined;
      });
      await eventually(() => rolledTo("lim", hash), `rolled before ${image}`);
      await dsC().patch(NS, "lim", { spec: { template: { spec: { containers: [{ name: "c", image }] } } } }, "strategic");
    }
    const last = await eventually(async () => {
      const r = await revisionsOf("lim");
      return r.length && r.at(-1)!.revision === 3 ? r.at(-1) : undefined;
    }, "third revision");
    await eventually(() => rolledTo("lim", last.metadata.labels![CONTROLLER_REVISION_HASH]), "rolled to 3");
    const kept = await eventually(async () => {
      const r = await revisionsOf("lim");
      return r.length === 2 ? r : undefined;
    }, "only the current and one old revision");
    expect(kept.map((r) => r.revision)).toEqual([2, 3]);
  });

  test("maxSurge: the new pod starts beside the old one, which goes only once the new one is available", async () => {
    await dsC().create(NS, ds("surge", "surge:1", { updateStrategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } } }));
    const hash1 = await eventually(async () => (await revisionsOf("surge"))[0]?.metadata.labels?.[CONTROLLER_REVISION_HASH]);
    await eventually(() => rolledTo("surge", hash1), "first rollout");

    // Record, per node, when an old pod was marked for deletion and when a new pod turned Ready.
    const order: string[] = [];
    const seen = new Set<string>();
    // From the list's resourceVersion: no event of the update can slip past before the watch starts.
    const from = (await podsC().list(NS, { labelSelector: "app=surge" })).metadata.resourceVersion;
    const w = podsC().watch(NS, { labelSelector: "app=surge", resourceVersion: from }, ({ object: p }) => {
      const isNew = p.spec!.containers[0].image === "surge:2";
      const key = `${isNew ? "new-ready" : "old-deleted"} ${p.spec?.nodeName}`;
      const happened = isNew ? p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") : !!p.metadata.deletionTimestamp;
      if (happened && !seen.has(key)) {
        seen.add(key);
        order.push(key);
      }
    });
    await dsC().patch(NS, "surge", { spec: { template: { spec: { containers: [{ name: "c", image: "surge:2" }] } } } }, "strategic");
    const hash2 = await eventually(async () => {
      const r = await revisionsOf("surge");
      return r.length === 2 ? r[1].metadata.labels![CONTROLLER_REVISION_HASH] : undefined;
    });
    await eventually(() => rolledTo("surge", hash2), "surge rollout");
    await eventually(() => order.length === 6, "every node's events seen");
    w.stop();
    for (const n of ["n1", "n2", "n3"]) expect(order.indexOf(`new-ready ${n}`)).toBeLessThan(order.indexOf(`old-deleted ${n}`));
  });
});

describe("rolling update planner", () => {
  const now = Date.parse("2026-01-01T00:10:00Z");
  const readyPod = (name: string, nodeName: string, hash: string, ready = true): Pod => ({
    metadata: { name, namespace: NS, labels: { [CONTROLLER_REVISION_HASH]: hash }, creationTimestamp: "2026-01-01T00:00:00Z" },
    spec: { nodeName, containers: [{ name: "c", image: "x" }] },
    status: { phase: "Running", conditions: [{ type: "Ready", status: ready ? "True" : "False", lastTransitionTime: "2026-01-01T00:00:00Z" }] },
  });
  const set = (rollingUpdate: Record<string, number | string>): DaemonSet => ({
    metadata: { name: "p", namespace: NS },
    spec: { selector: { matchLabels: {} }, template: { spec: { containers: [{ name: "c", image: "x" }] } }, updateStrategy: { type: "RollingUpdate", rollingUpdate } },
  });
  const cluster = ["a", "b", "c", "d"].map(node);

  test("without surge: at most maxUnavailable available old pods go; unavailable old ones go at once", () => {
    const d = set({ maxUnavailable: 1, maxSurge: 0 });
    const podList = [readyPod("pa", "a", "old"), readyPod("pb", "b", "old", false), readyPod("pc", "c", "old"), readyPod("pd", "d", "new")];
    const plan = planNodes(d, cluster, podList, () => false, "new");
    expect(plan.create).toEqual([]);
    const steps = rollingUpdate(d, plan.nodes, "new", now);
    expect(steps.create).toEqual([]);
    expect(steps.delete.map((s) => s.pod.metadata.name)).toEqual(["pb", "pa"]);
  });

  test("with surge: new pods beside old ones up to maxSurge; old ones go when their replacement is available", () => {
    const d = set({ maxUnavailable: 0, maxSurge: 2 });
    const podList = [readyPod("pa", "a", "old"), readyPod("pb", "b", "old"), readyPod("pb2", "b", "new"), readyPod("pc", "c", "old"), readyPod("pc2", "c", "new", false), readyPod("pd", "d", "old")];
    const plan = planNodes(d, cluster, podList, () => false, "new");
    expect(plan.delete).toEqual([]); // one old and one new per node is allowed while surging
    const steps = rollingUpdate(d, plan.nodes, "new", now);
    // b: replacement available → old goes. c: replacement not ready → counts against maxSurge.
    expect(steps.delete.map((s) => s.pod.metadata.name)).toEqual(["pb"]);
    // Room for 2 - 1 = 1 more surge pod: the first candidate node.
    expect(steps.create).toEqual(["a"]);
    // A node whose new pod is being created is surging already: with a and c, no room is left.
    expect(rollingUpdate(d, plan.nodes, "new", now, (n) => n === "a").create).toEqual([]);
  });

  test("without surge, two pods on a node are one too many: the oldest stays", () => {
    const d = set({ maxUnavailable: 1 });
    const plan = planNodes(d, [node("a")], [readyPod("p1", "a", "old"), { ...readyPod("p2", "a", "new"), metadata: { ...readyPod("p2", "a", "new").metadata, creationTimestamp: "2026-01-01T00:05:00Z" } }], () => false, "new");
    expect(plan.delete.map((s) => s.pod.metadata.name)).toEqual(["p2"]);
  });
});
