// Nodes coming and going, across processes: a SIGKILLed `bramble sim` (a power cut) has its
// nodes marked Unknown and tainted and its pods recreated elsewhere, then comes back Ready;
// DaemonSets follow node joins and deletions; cordon, uncordon, drain (eviction API) and
// delete node with the real kubectl. The server runs with short failover settings.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { condition, deployment, eventually, isRunning, kubectlFor, podsPerNode, startSim, stopAllSims, type SimProcess } from "./helpers/cluster";
import { startTestServer, type TestServer } from "./helpers/server";

setDefaultTimeout(60_000);

let s: TestServer;
let k: ReturnType<typeof kubectlFor>["k"];
let kj: ReturnType<typeof kubectlFor>["kj"];
let apply: ReturnType<typeof kubectlFor>["apply"];
let pods: ReturnType<typeof kubectlFor>["pods"];
let simA: SimProcess;
let simB: SimProcess;

const UNREACHABLE = "node.kubernetes.io/unreachable";

beforeAll(async () => {
  s = await startTestServer({ args: ["--disable-agent", "--node-monitor-grace-period", "4s", "--default-not-ready-toleration-seconds", "2"] });
  ({ k, kj, apply, pods } = kubectlFor(s));
  simA = startSim(s, { nodes: 2, cpu: "4", prefix: "a" });
  simB = startSim(s, { nodes: 2, cpu: "4", prefix: "b" });
  await readyNodes(["a-0", "a-1", "b-0", "b-1"]);
}, 60_000);

afterAll(async () => {
  await stopAllSims();
  await s?.cleanup();
});

const ctx = () => `server log tail:\n${s.log.slice(-4000)}`;

async function nodeMap(): Promise<Map<string, any>> {
  return new Map(((await kj("get", "nodes")).items as any[]).map((n) => [n.metadata.name, n]));
}
async function readyNodes(names: string[], timeoutMs = 30_000) {
  await eventually(`${names.join(",")} Ready`, async () => {
    const nodes = await nodeMap();
    return names.every((n) => condition(nodes.get(n), "Ready")?.status === "True");
  }, { timeoutMs, context: ctx });
}
const tolerantPod = (name: string, node: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {app: tolerant}
spec:
  nodeName: ${node}
  tolerations:
  - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute}
  containers:
  - name: main
    image: nginx:1.27
`;
const livePods = async (selector: string) => (await pods(selector)).filter((p) => !p.metadata.deletionTimestamp);

describe("a lost node", () => {
  test("kill -9 the sim holding a Deployment's pods: nodes go Unknown and tainted, pods run elsewhere, old pods are gone", async () => {
    // One pod on each sim that tolerates unreachable forever: it must stay, marked lost.
    for (const node of ["a-0", "b-0"]) await apply(tolerantPod(`tolerant-${node}`, node));
    await eventually("tolerant pods Running and Ready", async () => {
      const ps = await livePods("app=tolerant");
      return ps.length === 2 && ps.every((p) => isRunning(p) && condition(p, "Ready")?.status === "True");
    });
    await apply(deployment("survivor", { replicas: 4, cpu: "1" }));
    const before = await eventually("4 Running pods", async () => {
      const ps = await livePods("app=survivor");
      return ps.length === 4 && ps.every(isRunning) ? ps : undefined;
    });
    // Bin-packing puts all four on one node; kill the sim that holds it.
    const victimNode = before[0].spec.nodeName as string;
    const [victim, other] = victimNode.startsWith("a-") ? [simA, simB] : [simB, simA];
    const oldNames = new Set(before.filter((p) => victim.nodeNames.includes(p.spec.nodeName)).map((p) => p.metadata.name));
    expect(oldNames.size).toBeGreaterThan(0);

    await victim.kill();

    const lost = await eventually("the victim's nodes Unknown with the unreachable NoExecute taint", async () => {
      const nodes = await nodeMap();
      const mine = victim.nodeNames.map((n) => nodes.get(n));
      return mine.every((n) => condition(n, "Ready")?.status === "Unknown" && n.spec.taints?.some((t: any) => t.key === UNREACHABLE && t.effect === "NoExecute")) ? mine : undefined;
    }, { timeoutMs: 30_000, context: ctx });
    expect(lost.length).toBe(2);
    expect(await k("get", "node", victimNode, "--no-headers")).toMatch(/\sNotReady\s/);

    const after = await eventually("4 Running pods on the other sim's nodes, the old ones gone", async () => {
      const all = await pods("app=survivor");
      const gone = all.every((p) => !oldNames.has(p.metadata.name));
      return gone && all.length === 4 && all.every((p) => isRunning(p) && other.nodeNames.includes(p.spec.nodeName)) ? all : undefined;
    }, { timeoutMs: 40_000, context: ctx });
    expect(after.length).toBe(4);
    const dep = await kj("get", "deploy", "survivor");
    expect(dep.status.availableReplicas).toBe(4);

    // The pod that tolerates the taint stays on the lost node, but not as if it were fine.
    const stayed = await kj("get", "pod", `tolerant-${victim.nodeNames[0]}`);
    expect(stayed.metadata.deletionTimestamp).toBeUndefined();
    expect(condition(stayed, "Ready")?.status).toBe("False");
    expect(stayed.status.reason).toBe("NodeLost");
    expect(await k("get", "pod", stayed.metadata.name, "--no-headers")).toMatch(/\sNodeLost\s/);
    const fine = await kj("get", "pod", `tolerant-${other.nodeNames[0]}`);
    expect(condition(fine, "Ready")?.status).toBe("True");
  });

  test("the sim comes back: its nodes are Ready again and untainted", async () => {
    const victim = [simA, simB].find((x) => x.proc.signalCode !== null)!;
    victim.restart();
    await readyNodes(victim.nodeNames);
    await eventually("no lifecycle taints", async () => {
      const nodes = await nodeMap();
      return victim.nodeNames.every((n) => !(nodes.get(n).spec.taints ?? []).some((t: any) => t.key.startsWith("node.kubernetes.io/")));
    }, { context: ctx });
    expect(await k("get", "node", victim.nodeNames[0]!, "--no-headers")).toMatch(/\sReady\s/);
    // The pod that stayed runs as before: Ready again, no longer marked lost.
    const back = await eventually("the tolerant pod Ready again", async () => {
      const p = await kj("get", "pod", `tolerant-${victim.nodeNames[0]}`);
      return condition(p, "Ready")?.status === "True" ? p : undefined;
    }, { context: ctx });
    expect(back.status.phase).toBe("Running");
    expect(back.status.reason).toBeUndefined();
    expect(await k("get", "pod", back.metadata.name, "--no-headers")).toMatch(/\s1\/1\s+Running\s/);
  });
});

describe("DaemonSet", () => {
  const DS = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: agent
spec:
  selector:
    matchLabels: {app: agent}
  template:
    metadata:
      labels: {app: agent}
    spec:
      containers:
      - name: agent
        image: busybox:1.36
`;
  const dsPods = async (n: number) =>
    eventually(`${n} Running DaemonSet pods, one per node`, async () => {
      const ps = await livePods("app=agent");
      const perNode = podsPerNode(ps);
      return ps.length === n && perNode.size === n && ps.every(isRunning) ? perNode : undefined;
    }, { timeoutMs: 30_000, context: ctx });

  test("one pod per node; a new sim's nodes get theirs; kubectl delete node takes its pod", async () => {
    await apply(DS);
    const perNode = await dsPods(4);
    expect([...perNode.keys()].sort()).toEqual(["a-0", "a-1", "b-0", "b-1"]);

    startSim(s, { nodes: 2, cpu: "4", prefix: "c" });
    const grown = await dsPods(6);
    expect([...grown.keys()].sort()).toEqual(["a-0", "a-1", "b-0", "b-1", "c-0", "c-1"]);
    await eventually("DaemonSet status 6/6", async () => {
      const ds = await kj("get", "ds", "agent");
      return ds.status.desiredNumberScheduled === 6 && ds.status.numberReady === 6 ? ds : undefined;
    });

    expect(await k("delete", "node", "c-1")).toContain(`node "c-1" deleted`);
    const shrunk = await dsPods(5);
    expect(shrunk.has("c-1")).toBe(false);
    const onC1 = (await kj("get", "pods", "-A", "--field-selector", "spec.nodeName=c-1")).items;
    expect(onC1).toEqual([]);
    await eventually("DaemonSet status 5/5", async () => {
      const ds = await kj("get", "ds", "agent");
      return ds.status.desiredNumberScheduled === 5 && ds.status.numberReady === 5 ? ds : undefined;
    });
  });
});

describe("DaemonSet rolling update", () => {
  test("set image and rollout status: every node's pod is replaced, still one per node", async () => {
    const before = new Set((await livePods("app=agent")).map((p) => p.metadata.name));
    expect(before.size).toBe(5);
    await k("set", "image", "ds/agent", "agent=busybox:1.37");
    const r = await s.kubectlWith({ timeoutMs: 50_000 }, "rollout", "status", "ds/agent", "--timeout=45s");
    if (r.code !== 0) throw new Error(`rollout status failed:\n${r.stderr}\n${r.stdout}\n${ctx()}`);
    expect(r.stdout).toContain(`daemon set "agent" successfully rolled out`);
    const after = await eventually("5 new DaemonSet pods", async () => {
      const ps = await pods("app=agent");
      return ps.length === 5 && ps.every((p) => isRunning(p) && p.spec.containers[0].image === "busybox:1.37") ? ps : undefined;
    }, { context: ctx });
    expect(podsPerNode(after).size).toBe(5);
    expect(after.some((p) => before.has(p.metadata.name))).toBe(false);
  });
});

describe("cordon, drain, delete node", () => {
  const others = ["a-0", "a-1", "b-0", "b-1"];

  test("new pods avoid cordoned nodes; uncordon opens them again", async () => {
    for (const n of others) expect(await k("cordon", n)).toContain(`node/${n} cordoned`);
    expect(await k("get", "node", "a-0", "--no-headers")).toMatch(/Ready,SchedulingDisabled/);
    await apply(deployment("fenced", { replicas: 3, cpu: "500m" }));
    const placed = await eventually("3 Running pods", async () => {
      const ps = await livePods("app=fenced");
      return ps.length === 3 && ps.every(isRunning) ? ps : undefined;
    }, { context: ctx });
    expect([...podsPerNode(placed).keys()]).toEqual(["c-0"]);

    for (const n of others) expect(await k("uncordon", n)).toContain(`node/${n} uncordoned`);
    await k("cordon", "c-0");
    await k("scale", "deployment/fenced", "--replicas=6");
    const grown = await eventually("6 Running pods", async () => {
      const ps = await livePods("app=fenced");
      return ps.length === 6 && ps.every(isRunning) ? ps : undefined;
    }, { context: ctx });
    const newOnes = grown.filter((p) => !placed.some((q) => q.metadata.name === p.metadata.name));
    expect(newOnes.length).toBe(3);
    expect(newOnes.every((p) => p.spec.nodeName !== "c-0")).toBe(true);
    await k("uncordon", "c-0");
  });

  test("drain evicts a node's pods (DaemonSet pods stay), the ReplicaSet recreates them elsewhere", async () => {
    const onC0 = (await livePods("app=fenced")).filter((p) => p.spec.nodeName === "c-0");
    expect(onC0.length).toBe(3);
    const r = await s.kubectlWith({ timeoutMs: 60_000 }, "drain", "c-0", "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=45s");
    if (r.code !== 0) throw new Error(`drain failed:\n${r.stderr}\n${r.stdout}\n${ctx()}`);
    expect(r.stdout).toContain("node/c-0 cordoned");
    expect(r.stdout).toContain("node/c-0 drained");
    for (const p of onC0) expect(r.stdout).toContain(`pod/${p.metadata.name} evicted`);
    expect(r.stderr).toMatch(/Warning: ignoring DaemonSet-managed Pods: default\/agent-/);

    const after = await eventually("6 Running pods, none on c-0", async () => {
      const ps = await pods("app=fenced");
      return ps.length === 6 && ps.every((p) => isRunning(p) && p.spec.nodeName !== "c-0") ? ps : undefined;
    }, { context: ctx });
    expect(after.some((p) => onC0.some((q) => q.metadata.name === p.metadata.name))).toBe(false);
    // The DaemonSet pod on c-0 stays; the node stays cordoned.
    expect((await livePods("app=agent")).filter((p) => p.spec.nodeName === "c-0").length).toBe(1);
    expect((await kj("get", "node", "c-0")).spec.unschedulable).toBe(true);
    await k("uncordon", "c-0");
  });

  test("kubectl delete node cleans up its pods", async () => {
    await apply(`apiVersion: v1
kind: Pod
metadata:
  name: pinned
spec:
  nodeName: b-1
  containers:
  - name: main
    image: nginx:1.27
`);
    await eventually("pinned Running", async () => isRunning(await kj("get", "pod", "pinned")));
    const onB1 = async () => ((await kj("get", "pods", "-A", "--field-selector", "spec.nodeName=b-1")).items as any[]);
    expect((await onB1()).length).toBeGreaterThanOrEqual(2); // pinned + the DaemonSet pod

    expect(await k("delete", "node", "b-1")).toContain(`node "b-1" deleted`);
    await eventually("no pods left on b-1", async () => (await onB1()).length === 0, { context: ctx });
    expect((await s.kubectl("get", "pod", "pinned")).stderr).toContain("NotFound");
    expect((await s.kubectl("get", "node", "b-1")).stderr).toContain("NotFound");
    // The Deployment still has all its replicas, on nodes that exist.
    const ps = await eventually("6 Running fenced pods", async () => {
      const all = await pods("app=fenced");
      return all.length === 6 && all.every((p) => isRunning(p) && p.spec.nodeName !== "b-1") ? all : undefined;
    }, { context: ctx });
    expect(ps.length).toBe(6);
  });
});

describe("a dead node deleted", () => {
  test("kubectl delete node on a node whose sim is gone removes the pods that tolerated its taint", async () => {
    const simD = startSim(s, { nodes: 1, cpu: "4", prefix: "d" });
    await readyNodes(["d-0"]);
    await apply(tolerantPod("tolerant-d-0", "d-0"));
    await eventually("tolerant-d-0 Running", async () => isRunning(await kj("get", "pod", "tolerant-d-0")));
    const onD0 = async () => ((await kj("get", "pods", "-A", "--field-selector", "spec.nodeName=d-0")).items as any[]);
    await eventually("the DaemonSet pod on d-0", async () => (await onD0()).some((p) => p.metadata.labels?.app === "agent"));

    await simD.kill();
    await eventually("d-0 Unknown", async () => condition(await kj("get", "node", "d-0"), "Ready")?.status === "Unknown", { timeoutMs: 30_000, context: ctx });
    expect((await onD0()).length).toBe(2); // both tolerate unreachable: nothing evicts them

    expect(await k("delete", "node", "d-0")).toContain(`node "d-0" deleted`);
    await eventually("no pods left on d-0", async () => (await onD0()).length === 0, { context: ctx });
  });
});

describe("server restart with a node lost meanwhile", () => {
  test("a sim killed while the server is down is detected after the restart; live nodes never flap", async () => {
    // The survivor pods all run on the sim that was not killed earlier; now it goes, while the
    // server is down.
    const before = await livePods("app=survivor");
    expect(before.length).toBe(4);
    const victim = [simA, simB].find((x) => x.nodeNames.includes(before[0].spec.nodeName))!;
    expect(before.every((p) => victim.nodeNames.includes(p.spec.nodeName))).toBe(true);
    const alive = ["a-0", "a-1", "b-0", "b-1", "c-0"].filter((n) => !victim.nodeNames.includes(n) && n !== "b-1"); // b-1 was deleted
    expect(await s.stop()).toBe(0);
    await victim.kill();
    await s.restart();

    // The sims that are alive keep renewing: their nodes must not be marked Unknown, for well
    // over a grace period; the victim's must be.
    let flapped: string | undefined;
    const checkAlive = (nodes: Map<string, any>) => {
      for (const n of alive) if (condition(nodes.get(n), "Ready")?.status !== "True") flapped ??= `${n}: ${JSON.stringify(condition(nodes.get(n), "Ready"))}`;
    };
    const lostNode = victim.nodeNames[0]!;
    await eventually(`${lostNode} Unknown`, async () => {
      const nodes = await nodeMap();
      checkAlive(nodes);
      return condition(nodes.get(lostNode), "Ready")?.status === "Unknown";
    }, { timeoutMs: 40_000, context: ctx });
    const after = await eventually("4 survivor pods Running elsewhere", async () => {
      const nodes = await nodeMap();
      checkAlive(nodes);
      const all = await pods("app=survivor");
      return all.length === 4 && all.every((p) => isRunning(p) && alive.includes(p.spec.nodeName)) ? all : undefined;
    }, { timeoutMs: 30_000, context: ctx });
    expect(after.some((p) => before.some((q) => q.metadata.name === p.metadata.name))).toBe(false);
    const watchUntil = Date.now() + 5_000;
    while (Date.now() < watchUntil) {
      checkAlive(await nodeMap());
      await Bun.sleep(300);
    }
    expect(flapped).toBeUndefined();
  }, 90_000);
});
