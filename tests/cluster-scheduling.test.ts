// Scheduling across processes: a real `bramble server`, `bramble sim` nodes and the real kubectl.
// Bin-packing uses the fewest nodes, `--scheduler-policy spread` the most; a pod too big for
// every node stays Pending with an upstream-style message and a FailedScheduling event until a
// big enough node joins; impossible specs are rejected with the field named.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { condition, deployment, eventually, isRunning, kubectlFor, podsPerNode, startSim, stopAllSims } from "./helpers/cluster";
import { startTestServer, type TestServer } from "./helpers/server";

setDefaultTimeout(60_000);

let binpack: TestServer;
let spread: TestServer;

beforeAll(async () => {
  [binpack, spread] = await Promise.all([startTestServer({ args: ["--disable-agent"] }), startTestServer({ args: ["--disable-agent", "--scheduler-policy", "spread"] })]);
  startSim(binpack, { nodes: 4, cpu: "4", memory: "8Gi", prefix: "pack" });
  startSim(spread, { nodes: 4, cpu: "4", memory: "8Gi", prefix: "spread" });
  await Promise.all([binpack, spread].map((s) => readyNodes(s, 4)));
}, 60_000);

afterAll(async () => {
  await stopAllSims();
  await Promise.all([binpack?.cleanup(), spread?.cleanup()]);
});

async function readyNodes(s: TestServer, n: number) {
  const { kj } = kubectlFor(s);
  await eventually(`${n} Ready nodes`, async () => {
    const nodes = (await kj("get", "nodes")).items;
    return nodes.length === n && nodes.every((x: any) => condition(x, "Ready")?.status === "True");
  }, { timeoutMs: 30_000 });
}

describe("bin-packing (default policy)", () => {
  test("8 pods of 1 cpu on 4 nodes of 4 cpu use exactly 2 nodes, 4 pods each", async () => {
    const { apply, pods } = kubectlFor(binpack);
    await apply(deployment("packed", { replicas: 8, cpu: "1" }));
    const running = await eventually("8 Running pods", async () => {
      const ps = await pods("app=packed");
      return ps.length === 8 && ps.every(isRunning) ? ps : undefined;
    });
    const perNode = podsPerNode(running);
    expect(perNode.size).toBe(2);
    expect([...perNode.values()]).toEqual([4, 4]);
  });
});

describe("spread (--scheduler-policy spread)", () => {
  test("8 pods of 1 cpu on 4 nodes of 4 cpu use all 4 nodes, 2 pods each", async () => {
    const { apply, pods } = kubectlFor(spread);
    await apply(deployment("spreaded", { replicas: 8, cpu: "1" }));
    const running = await eventually("8 Running pods", async () => {
      const ps = await pods("app=spreaded");
      return ps.length === 8 && ps.every(isRunning) ? ps : undefined;
    });
    const perNode = podsPerNode(running);
    expect(perNode.size).toBe(4);
    expect([...perNode.values()]).toEqual([2, 2, 2, 2]);
  });
});

describe("over capacity", () => {
  test("a pod bigger than every node stays Pending with the reason, the message and a FailedScheduling event; a big node takes it", async () => {
    const { k, kj, apply } = kubectlFor(spread);
    await apply(`apiVersion: v1
kind: Pod
metadata:
  name: huge
spec:
  containers:
  - name: main
    image: nginx:1.27
    resources:
      requests:
        cpu: "6"
`);
    const cond = await eventually("PodScheduled=False", async () => {
      const c = condition(await kj("get", "pod", "huge"), "PodScheduled");
      return c?.status === "False" ? c : undefined;
    });
    expect(cond.reason).toBe("Unschedulable");
    expect(cond.message).toBe("0/4 nodes are available: 4 Insufficient cpu. preemption: 0/4 nodes are available: 4 Preemption is not helpful for scheduling.");
    const pod = await kj("get", "pod", "huge");
    expect(pod.status.phase).toBe("Pending");
    expect(pod.spec.nodeName).toBeUndefined();

    const described = await eventually("a FailedScheduling event in describe", async () => {
      const out = await k("describe", "pod", "huge");
      return /Warning\s+FailedScheduling\s.*0\/4 nodes are available: 4 Insufficient cpu\./.test(out) ? out : undefined;
    });
    expect(described).toMatch(/Status:\s+Pending/);

    // Not retried in a hot loop: the event is aggregated (one Event object, a small count), and
    // the pod's resourceVersion does not churn while nothing changes.
    const rv1 = (await kj("get", "pod", "huge")).metadata.resourceVersion;
    await Bun.sleep(2_000);
    expect((await kj("get", "pod", "huge")).metadata.resourceVersion).toBe(rv1);
    const events = (await kj("get", "events", "--field-selector", "involvedObject.name=huge,reason=FailedScheduling")).items;
    expect(events.length).toBe(1);
    expect(events[0].count ?? 1).toBeLessThan(5);

    startSim(spread, { nodes: 1, cpu: "8", memory: "16Gi", prefix: "big" });
    const bound = await eventually("huge Running on big-0", async () => {
      const p = await kj("get", "pod", "huge");
      return isRunning(p) ? p : undefined;
    }, { timeoutMs: 30_000 });
    expect(bound.spec.nodeName).toBe("big-0");
    expect(condition(bound, "PodScheduled")?.status).toBe("True");
  });
});

describe("bad input is rejected with the field named", () => {
  const rejected = async (manifest: string) => {
    const r = await binpack.kubectlWith({ stdin: manifest }, "apply", "-f", "-");
    expect(r.code).not.toBe(0);
    return r.stderr;
  };

  test("negative replicas", async () => {
    const err = await rejected(deployment("neg", { replicas: -1 }));
    expect(err).toContain(`The Deployment "neg" is invalid`);
    expect(err).toContain("spec.replicas: Invalid value: -1");
  });

  test("negative replicas through kubectl scale", async () => {
    const { apply, k } = kubectlFor(binpack);
    await apply(deployment("scaled", { replicas: 0 }));
    const r = await binpack.kubectl("scale", "deployment", "scaled", "--replicas=-2");
    expect(r.code).not.toBe(0);
    // kubectl checks this one itself; the server must hold the line for other clients too.
    const res = await binpack.fetch("/apis/apps/v1/namespaces/default/deployments/scaled", {
      method: "PATCH",
      headers: { "content-type": "application/merge-patch+json" },
      body: JSON.stringify({ spec: { replicas: -2 } }),
    });
    expect(res.status).toBe(422);
    const status = (await res.json()) as any;
    expect(status.reason).toBe("Invalid");
    expect(status.details.causes.map((c: any) => c.field)).toContain("spec.replicas");
    // And through the scale subresource.
    const scale = await binpack.fetch("/apis/apps/v1/namespaces/default/deployments/scaled/scale", {
      method: "PATCH",
      headers: { "content-type": "application/merge-patch+json" },
      body: JSON.stringify({ spec: { replicas: -2 } }),
    });
    expect(scale.status).toBe(422);
    expect(((await scale.json()) as any).details.causes.map((c: any) => c.field)).toContain("spec.replicas");
    expect(await k("get", "deploy", "scaled", "-o", "jsonpath={.spec.replicas}")).toBe("0");
  });

  test("a selector that does not match the template labels", async () => {
    const err = await rejected(deployment("mismatch", { replicas: 1, labels: { app: "a" } }).replace("matchLabels: {\"app\":\"a\"}", "matchLabels: {\"app\":\"b\"}"));
    expect(err).toContain(`The Deployment "mismatch" is invalid`);
    expect(err).toContain("spec.template.metadata.labels");
    expect(err).toContain("`selector` does not match template `labels`");
  });

  test("an unknown toleration operator", async () => {
    const err = await rejected(`apiVersion: v1
kind: Pod
metadata:
  name: badtol
spec:
  tolerations:
  - key: dedicated
    operator: Sometimes
    value: x
    effect: NoSchedule
  containers:
  - name: main
    image: nginx:1.27
`);
    expect(err).toContain(`The Pod "badtol" is invalid`);
    expect(err).toContain("spec.tolerations[0].operator");
    expect(err).toContain("Sometimes");
  });

  test("other impossible specs: tolerations and rolling update parameters", async () => {
    const pod = (tol: string) => `apiVersion: v1
kind: Pod
metadata:
  name: badtol2
spec:
  tolerations:
  - ${tol}
  containers:
  - name: main
    image: nginx:1.27
`;
    expect(await rejected(pod("{key: a, operator: Exists, value: x, effect: NoSchedule}"))).toContain("spec.tolerations[0].operator");
    expect(await rejected(pod("{key: a, operator: Equal, value: x, effect: NoSchedule, tolerationSeconds: 5}"))).toContain("spec.tolerations[0].effect");
    expect(await rejected(pod("{key: a, operator: Equal, value: x, effect: Sometimes}"))).toContain("spec.tolerations[0].effect");
    const err = await rejected(deployment("nosurge", { replicas: 2, extraSpec: "  strategy:\n    rollingUpdate: {maxSurge: 0, maxUnavailable: 0}\n" }));
    expect(err).toContain("spec.strategy.rollingUpdate.maxUnavailable");
    const neg = await rejected(deployment("negsurge", { replicas: 2, extraSpec: "  strategy:\n    rollingUpdate: {maxSurge: -1}\n" }));
    expect(neg).toContain("spec.strategy.rollingUpdate.maxSurge");
    const rs = await rejected(`apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: negrs
spec:
  replicas: -3
  selector:
    matchLabels: {app: negrs}
  template:
    metadata:
      labels: {app: negrs}
    spec:
      containers:
      - name: main
        image: nginx:1.27
`);
    expect(rs).toContain("spec.replicas");
  });

  test("nothing was written", async () => {
    const { k } = kubectlFor(binpack);
    const names = await k("get", "deploy,rs,pods", "-o", "name");
    expect(names).not.toMatch(/neg|mismatch|badtol|nosurge/);
  });
});

describe("retries and reasons (bin-packing server)", () => {
  test("mixed reasons in the message; the pod is placed once a node changes", async () => {
    const { k, kj, apply, pods } = kubectlFor(binpack);
    const used = podsPerNode(await pods("app=packed"));
    const [cordoned, tainted] = ["pack-0", "pack-1", "pack-2", "pack-3"].filter((n) => !used.has(n));
    await k("cordon", cordoned!);
    await k("taint", "node", tainted!, "dedicated=gpu:NoSchedule");
    await apply(podManifest("mixed", "2"));
    const cond = await eventually("PodScheduled=False", async () => {
      const c = condition(await kj("get", "pod", "mixed"), "PodScheduled");
      return c?.status === "False" ? c : undefined;
    });
    expect(cond.message).toBe(
      "0/4 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) were unschedulable, 2 Insufficient cpu. preemption: 0/4 nodes are available: 2 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.",
    );

    await k("taint", "node", tainted!, "dedicated=gpu:NoSchedule-");
    const placed = await eventually("mixed Running", async () => {
      const p = await kj("get", "pod", "mixed");
      return isRunning(p) ? p : undefined;
    });
    expect(placed.spec.nodeName).toBe(tainted);
    await k("uncordon", cordoned!);
  });

  test("a pending pod is placed once other pods go away", async () => {
    const { k, kj, apply } = kubectlFor(binpack);
    await apply(podManifest("filler", "3"));
    await eventually("filler Running", async () => isRunning(await kj("get", "pod", "filler")));
    await apply(podManifest("waiter", "4"));
    const cond = await eventually("waiter unschedulable", async () => {
      const c = condition(await kj("get", "pod", "waiter"), "PodScheduled");
      return c?.status === "False" ? c : undefined;
    });
    expect(cond.message).toBe("0/4 nodes are available: 4 Insufficient cpu. preemption: 0/4 nodes are available: 4 No preemption victims found for incoming pod.");

    await k("delete", "deployment", "packed");
    const placed = await eventually("waiter Running", async () => {
      const p = await kj("get", "pod", "waiter");
      return isRunning(p) ? p : undefined;
    }, { timeoutMs: 30_000 });
    expect(["pack-0", "pack-1", "pack-2", "pack-3"]).toContain(placed.spec.nodeName);
    // describe shows both the failed attempts and the successful one.
    const out = await eventually("a Scheduled event", async () => {
      const d = await k("describe", "pod", "waiter");
      return /Normal\s+Scheduled\s.*Successfully assigned default\/waiter to pack-/.test(d) ? d : undefined;
    });
    expect(out).toMatch(/Warning\s+FailedScheduling\s/);
  });

  test("kubectl describe node shows the pods and the requests allocated on it", async () => {
    const { k, kj } = kubectlFor(binpack);
    const node = (await kj("get", "pod", "waiter")).spec.nodeName;
    const out = await k("describe", "node", node);
    expect(out).toMatch(/Non-terminated Pods:\s+\(1 in total\)/);
    expect(out).toMatch(/default\s+waiter\s+4 \(100%\)/);
    expect(out).toMatch(/Allocated resources:[\s\S]*cpu\s+4 \(100%\)/);
  });

  test("nodeSelector on labels from sim --node-labels", async () => {
    const { kj, apply } = kubectlFor(binpack);
    startSim(binpack, { nodes: 1, cpu: "4", prefix: "ssd", labels: "disk=ssd" });
    await apply(`apiVersion: v1
kind: Pod
metadata:
  name: wants-ssd
spec:
  nodeSelector: {disk: ssd}
  containers:
  - name: main
    image: nginx:1.27
`);
    const p = await eventually("wants-ssd Running", async () => {
      const x = await kj("get", "pod", "wants-ssd");
      return isRunning(x) ? x : undefined;
    }, { timeoutMs: 30_000 });
    expect(p.spec.nodeName).toBe("ssd-0");
  });
});

function podManifest(name: string, cpu: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  containers:
  - name: main
    image: nginx:1.27
    resources:
      requests:
        cpu: "${cpu}"
`;
}
