import { describe, expect, test } from "bun:test";
import type { Job } from "../../../api/resources/batch/job";
import { JOB_TRACKING_FINALIZER } from "../../../api/resources/batch/labels";
import type { Pod } from "../../../api/resources/core/pod";
import { changes, countsOf, judge, track } from "./plan";

const job = (spec: Partial<NonNullable<Job["spec"]>> = {}, status: Job["status"] = {}): Job =>
  ({
    metadata: { name: "j", namespace: "ns", uid: "job-uid" },
    spec: { completions: 2, parallelism: 2, backoffLimit: 6, completionMode: "NonIndexed", template: { spec: { restartPolicy: "Never", containers: [{ name: "c" }] } }, ...spec },
    status,
  }) as Job;

let n = 0;
const pod = (phase: string, opts: { finalizer?: boolean; index?: number; finishedAt?: string; deleted?: boolean; uid?: string } = {}): Pod =>
  ({
    metadata: {
      name: `p${++n}`,
      namespace: "ns",
      uid: opts.uid ?? `uid-${n}`,
      creationTimestamp: "2024-05-01T12:00:00Z",
      ...(opts.finalizer !== false && { finalizers: [JOB_TRACKING_FINALIZER] }),
      ...(opts.index !== undefined && { annotations: { "batch.kubernetes.io/job-completion-index": String(opts.index) } }),
      ...(opts.deleted && { deletionTimestamp: "2024-05-01T12:00:00Z", deletionGracePeriodSeconds: 30 }),
    },
    spec: { nodeName: "n", containers: [{ name: "c" }] },
    status: {
      phase,
      containerStatuses: opts.finishedAt ? [{ name: "c", state: { terminated: { exitCode: phase === "Succeeded" ? 0 : 1, finishedAt: opts.finishedAt } } }] : [],
    },
  }) as unknown as Pod;

describe("tracking finished pods", () => {
  test("a finished pod is recorded once: by uid, then counted only when its finalizer is gone", () => {
    const done = pod("Succeeded", { uid: "a" });
    const first = track(job(), [done, pod("Running")]);
    expect([...first.uncountedSucceeded]).toEqual(["a"]);
    expect(first.recorded).toBe(true);
    expect(first.finalize).toEqual([done]);
    // Recorded but the finalizer is still on (the controller stopped in between): not recorded again.
    const again = track(job({}, { uncountedTerminatedPods: { succeeded: ["a"] } }), [done]);
    expect(again.recorded).toBe(false);
    expect(again.finalize).toEqual([done]);
    expect(countsOf(job({}, { uncountedTerminatedPods: { succeeded: ["a"] } }), [done], again).succeeded).toBe(1);
    // Counted and released: a pod without the finalizer is never looked at again.
    const released = pod("Succeeded", { uid: "a", finalizer: false });
    const later = track(job({}, { succeeded: 1 }), [released]);
    expect(later.recorded).toBe(false);
    expect(countsOf(job({}, { succeeded: 1 }), [released], later).succeeded).toBe(1);
  });

  test("a pod released by a write the cache has not shown yet is not recorded again", () => {
    const done = pod("Succeeded", { uid: "b" });
    const counted = job({}, { succeeded: 1 });
    const t = track(counted, [done], new Set(["b"]));
    expect(t.recorded).toBe(false);
    expect(t.finalize).toEqual([]);
    expect(countsOf(counted, [done], t).succeeded).toBe(1);
  });

  test("Indexed: success is recorded by index; a second pod of a done index adds nothing", () => {
    const j = job({ completionMode: "Indexed", completions: 3 }, { completedIndexes: "1" });
    const t = track(j, [pod("Succeeded", { index: 0 }), pod("Succeeded", { index: 1 }), pod("Succeeded", { index: 7 })]);
    expect([...t.succeededIndexes].sort()).toEqual([0, 1]);
    expect(t.finalize.length).toBe(3);
  });

  test("a terminating pod counts as failed once it is Failed, not before", () => {
    const t = track(job(), [pod("Running", { deleted: true })]);
    expect(t.recorded).toBe(false);
    expect(track(job(), [pod("Failed", { deleted: true })]).uncountedFailed.size).toBe(1);
  });
});

describe("verdicts", () => {
  test("backoff limit before deadline; completions when enough succeeded", () => {
    const j = job({ backoffLimit: 1, activeDeadlineSeconds: 1 }, { startTime: "2024-05-01T12:00:00Z", failed: 1 });
    const t = track(j, [pod("Failed")]);
    expect(judge(j, t, countsOf(j, [], t), Date.parse("2024-05-01T13:00:00Z"))?.reason).toBe("BackoffLimitExceeded");
    const k = job({ activeDeadlineSeconds: 1 }, { startTime: "2024-05-01T12:00:00Z" });
    const none = track(k, []);
    expect(judge(k, none, countsOf(k, [], none), Date.parse("2024-05-01T12:00:00Z"))).toBeUndefined();
    expect(judge(k, none, countsOf(k, [], none), Date.parse("2024-05-01T12:00:01Z"))?.reason).toBe("DeadlineExceeded");
    const s = job({}, { succeeded: 2 });
    expect(judge(s, track(s, []), countsOf(s, [], track(s, [])), 0)?.reason).toBe("CompletionsReached");
    // Without completions: the first success ends it, once nothing runs any more.
    const w = job({ completions: undefined }, { succeeded: 1 });
    const running = [pod("Running")];
    expect(judge(w, track(w, running), countsOf(w, running, track(w, running)), 0)).toBeUndefined();
    expect(judge(w, track(w, []), countsOf(w, [], track(w, [])), 0)?.reason).toBe("CompletionsReached");
  });
});

describe("pods to create and delete", () => {
  test("replacements wait for the backoff, doubling with each failure since the last success", () => {
    const j = job({ completions: 1, parallelism: 1 });
    const failed = [pod("Failed", { finalizer: false, finishedAt: "2024-05-01T12:00:00Z" }), pod("Failed", { finalizer: false, finishedAt: "2024-05-01T12:00:10Z" })];
    const t = track(j, failed);
    const c = countsOf(j, failed, t);
    const at = Date.parse("2024-05-01T12:00:10Z");
    const backoff = { baseMs: 10_000, maxMs: 60_000 };
    expect(changes(j, failed, t, c, backoff, at + 1000)).toEqual({ create: [], remove: [], retryAt: at + 20_000 });
    expect(changes(j, failed, t, c, backoff, at + 20_000).create.length).toBe(1);
    // A success resets the count.
    const withSuccess = [...failed, pod("Succeeded", { finalizer: false, finishedAt: "2024-05-01T12:00:20Z" })];
    const j2 = job({ completions: 2, parallelism: 1 }, { succeeded: 1 });
    const t2 = track(j2, withSuccess);
    expect(changes(j2, withSuccess, t2, countsOf(j2, withSuccess, t2), backoff, at + 11_000).create.length).toBe(1);
  });

  test("Indexed: duplicates and finished indexes are deleted, missing indexes created lowest first", () => {
    const j = job({ completionMode: "Indexed", completions: 4, parallelism: 2 }, { completedIndexes: "0" });
    const pods = [pod("Running", { index: 0 }), pod("Running", { index: 2 }), pod("Running", { index: 2 })];
    const t = track(j, pods);
    const plan = changes(j, pods, t, countsOf(j, pods, t), { baseMs: 0, maxMs: 0 }, 0);
    expect(plan.remove.map((p) => p.metadata.annotations?.["batch.kubernetes.io/job-completion-index"])).toEqual(["0", "2"]);
    expect(plan.create).toEqual([{ index: 1 }]);
  });

  test("podReplacementPolicy Failed waits for terminating pods; TerminatingOrFailed does not", () => {
    const pods = [pod("Running", { deleted: true })];
    const failedOnly = job({ completions: 1, parallelism: 1, podReplacementPolicy: "Failed" });
    const t = track(failedOnly, pods);
    expect(changes(failedOnly, pods, t, countsOf(failedOnly, pods, t), { baseMs: 0, maxMs: 0 }, 0).create).toEqual([]);
    const eager = job({ completions: 1, parallelism: 1, podReplacementPolicy: "TerminatingOrFailed" });
    expect(changes(eager, pods, t, countsOf(eager, pods, t), { baseMs: 0, maxMs: 0 }, 0).create.length).toBe(1);
  });
});
