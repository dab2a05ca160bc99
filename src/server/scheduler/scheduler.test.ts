// The reconciler with fake API calls: bind outcomes, assumption bookkeeping, and what wakes
// waiting pods (and what must not, so they never spin).
import { expect, test } from "bun:test";
import { ApiError } from "../../api/errors";
import type { Pod } from "../../api/resources/core/pod";
import type { ResourceClient } from "../../client/client";
import type { EventRecorder } from "../../client/events";
import { SchedulerCache } from "./cache";
import { makeNode, makePod } from "./harness";
import { profileFor } from "./profile";
import { Scheduler } from "./scheduler";
import { UnschedulablePods } from "./unschedulable";

function setup(bind: (name: string, node: string) => Promise<unknown> = async () => ({})) {
  const store = new Map<string, Pod>();
  const enqueued: string[] = [];
  const events: string[] = [];
  const patches: unknown[] = [];
  const cache = new SchedulerCache();
  const unschedulable = new UnschedulablePods((k) => enqueued.push(k), { flushDelayMs: 1, retryIntervalMs: 60_000 });
  const deleted: string[] = [];
  const pods = {
    post: (_ns: string, name: string, _sub: string, body: any) => bind(name, body.target.name),
    patch: async (_ns: string, name: string, body: unknown) => patches.push({ name, ...(body as object) }),
    delete: async (_ns: string, name: string) => deleted.push(name),
  } as unknown as ResourceClient<Pod>;
  const recorder = { event: (_o: unknown, type: string, reason: string, msg: string) => events.push(`${type} ${reason} ${msg}`) } as unknown as EventRecorder;
  const s = new Scheduler({
    pods,
    getPod: (k) => store.get(k),
    events: recorder,
    profile: profileFor("binpack"),
    schedulerName: "default-scheduler",
    cache,
    unschedulable,
    enqueue: (k) => enqueued.push(k),
  });
  return { s, store, enqueued, events, patches, deleted, cache, unschedulable };
}

test("a successful bind keeps the assumption until the bound pod arrives, and records Scheduled", async () => {
  const { s, store, events, cache } = setup();
  s.nodeAdded(makeNode("n1"));
  const pod = makePod("a", { cpu: "1" });
  store.set("default/a", pod);
  await s.reconcile("default/a");
  expect(cache.isAssumed("default/a")).toBe(true);
  expect(events).toEqual(["Normal Scheduled Successfully assigned default/a to n1"]);
  s.podUpdated(pod, { ...pod, spec: { ...pod.spec!, nodeName: "n1" } });
  expect(cache.isAssumed("default/a")).toBe(false);
  expect(cache.node("n1")!.requested.cpu).toBe(1000);
});

test("a 409 on bind (someone else bound it) drops the assumption without an error", async () => {
  const { s, store, events, cache } = setup(async () => {
    throw new ApiError(409, "Conflict", "already assigned");
  });
  s.nodeAdded(makeNode("n1"));
  store.set("default/a", makePod("a", { cpu: "1" }));
  await s.reconcile("default/a");
  expect(cache.isAssumed("default/a")).toBe(false);
  expect(cache.node("n1")!.requested.cpu).toBe(0);
  expect(events).toEqual([]);
});

test("other bind errors drop the assumption and fail the reconcile, so the loop retries with backoff", async () => {
  const { s, store, cache } = setup(async () => {
    throw new ApiError(503, "ServiceUnavailable", "down");
  });
  s.nodeAdded(makeNode("n1"));
  store.set("default/a", makePod("a", { cpu: "1" }));
  await expect(s.reconcile("default/a")).rejects.toThrow("down");
  expect(cache.node("n1")!.requested.cpu).toBe(0);
});

test("an unschedulable pod waits: its own status update does not requeue it, a spec change or a freed node does", async () => {
  const { s, store, enqueued, patches, events, unschedulable } = setup();
  s.nodeAdded(makeNode("n1", { cpu: "1" }));
  const pod = makePod("big", { cpu: "2" });
  store.set("default/big", pod);
  await s.reconcile("default/big");
  expect(unschedulable.has("default/big")).toBe(true);
  expect(patches).toHaveLength(1);
  expect(events).toEqual(["Warning FailedScheduling 0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."]);

  const withCondition: Pod = { ...pod, status: { conditions: [{ type: "PodScheduled", status: "False", reason: "Unschedulable", message: "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling." }] } };
  enqueued.length = 0;
  s.podUpdated(pod, withCondition);
  expect(enqueued).toEqual([]);

  // Retried with the same outcome: no second status write, no second event.
  store.set("default/big", withCondition);
  await s.reconcile("default/big");
  expect(patches).toHaveLength(1);
  expect(events).toHaveLength(1);

  // A heartbeat-only node update wakes nothing; a bigger node does.
  const n1 = makeNode("n1", { cpu: "1" });
  s.nodeUpdated(n1, { ...n1, status: { ...n1.status, conditions: [{ type: "Ready", status: "True", lastHeartbeatTime: "2030-01-01T00:00:00Z" }] } });
  await Bun.sleep(5);
  expect(enqueued).toEqual([]);
  s.nodeUpdated(n1, makeNode("n1", { cpu: "4" }));
  await Bun.sleep(5);
  expect(enqueued).toEqual(["default/big"]);
});

test("deleting a bound pod wakes waiting pods; pods for other schedulers are ignored", async () => {
  const { s, store, enqueued, unschedulable } = setup();
  s.nodeAdded(makeNode("n1"));
  unschedulable.add("default/waiting");
  const other = makePod("x", { spec: { schedulerName: "custom" } });
  store.set("default/x", other);
  s.podAdded(other);
  expect(enqueued).toEqual([]);
  s.podDeleted({ ...makePod("gone"), spec: { ...makePod("gone").spec!, nodeName: "n1" } });
  await Bun.sleep(5);
  expect(enqueued).toEqual(["default/waiting"]);
});

test("a pod that fits only by preemption: victims get DisruptionTarget and are deleted, the pod is nominated", async () => {
  const { s, store, events, patches, deleted, cache, unschedulable } = setup();
  s.nodeAdded(makeNode("n1", { cpu: "2" }));
  for (const [name, priority] of [["low", 0], ["mid", 5]] as const) {
    const pod = makePod(name, { cpu: "1", priority, nodeName: "n1" });
    store.set(`default/${name}`, pod);
    s.podAdded(pod);
  }
  const vip = makePod("vip", { cpu: "1", priority: 10 });
  vip.metadata.uid = "uid-vip";
  store.set("default/vip", vip);
  await s.reconcile("default/vip");
  expect(deleted).toEqual(["low"]);
  expect(patches).toEqual([
    {
      name: "low",
      status: { conditions: [expect.objectContaining({ type: "DisruptionTarget", status: "True", reason: "PreemptionByScheduler", message: "default-scheduler: preempting to accommodate a higher priority pod" })] },
    },
    { name: "vip", status: { conditions: [expect.objectContaining({ type: "PodScheduled", status: "False", reason: "Unschedulable" })], nominatedNodeName: "n1" } },
  ]);
  expect(events).toEqual([
    "Normal Preempted Preempted by pod uid-vip on node n1",
    "Warning FailedScheduling 0/1 nodes are available: 1 Insufficient cpu.",
  ]);
  expect(unschedulable.has("default/vip")).toBe(true);
  expect(cache.nominatedOn("n1").map((p) => p.name)).toEqual(["vip"]);
});
