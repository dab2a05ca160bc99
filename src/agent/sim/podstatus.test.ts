import { expect, test } from "bun:test";
import type { Pod } from "../../api/resources/core/pod";
import { hasRunningContainers, looksRunning, needsWork, runningStatus, runningStatusPatch, stoppedStatus } from "./podstatus";

const pod: Pod = {
  metadata: { name: "p", namespace: "default", uid: "u1" },
  spec: { nodeName: "sim-0", containers: [{ name: "a", image: "nginx" }], initContainers: [{ name: "sidecar", image: "envoy", restartPolicy: "Always" }] },
  status: { phase: "Pending", qosClass: "BestEffort", conditions: [{ type: "PodScheduled", status: "True", lastTransitionTime: "2025-01-01T00:00:00Z" }] },
};
const t1 = new Date("2025-01-01T00:00:05Z");
const t2 = new Date("2025-01-01T00:01:00Z");

test("running: ready containers, kept PodScheduled, sidecars running, idempotent by looksRunning", () => {
  expect(needsWork(pod)).toBe(true);
  const st = runningStatus(pod, { podIP: "10.42.0.2", hostIP: "172.31.0.1" }, t1);
  const running: Pod = { ...pod, status: { ...pod.status, ...st } };
  expect(st.conditions!.find((c) => c.type === "PodScheduled")?.lastTransitionTime).toBe("2025-01-01T00:00:00Z");
  expect(st.initContainerStatuses![0].state?.running).toBeDefined();
  expect(looksRunning(running)).toBe(true);
  expect(needsWork(running)).toBe(false);
  // Rewriting later (e.g. after Ready was reset by the node controller) keeps start times.
  const again = runningStatus(running, { podIP: "10.42.0.2", hostIP: "172.31.0.1" }, t2);
  expect(again.startTime).toBe("2025-01-01T00:00:05Z");
  expect(again.containerStatuses![0].state?.running?.startedAt).toBe("2025-01-01T00:00:05Z");
  expect(again.conditions!.find((c) => c.type === "Ready")?.lastTransitionTime).toBe("2025-01-01T00:00:05Z");

  const notReady: Pod = { ...running, status: { ...running.status, conditions: running.status!.conditions!.map((c) => (c.type === "Ready" ? { ...c, status: "False" } : c)) } };
  expect(needsWork(notReady)).toBe(true);
});

test("stopped: containers terminated with exit 0, not ready, phase Succeeded", () => {
  const running: Pod = { ...pod, status: { ...pod.status, ...runningStatus(pod, { podIP: "10.42.0.2", hostIP: "172.31.0.1" }, t1) } };
  expect(hasRunningContainers(running)).toBe(true);
  const st = stoppedStatus(running, t2);
  const stopped: Pod = { ...running, status: { ...running.status, ...st } };
  expect(st.phase).toBe("Succeeded");
  expect(st.containerStatuses![0]).toMatchObject({ ready: false, started: false, state: { terminated: { exitCode: 0, reason: "Completed", startedAt: "2025-01-01T00:00:05Z", finishedAt: "2025-01-01T00:01:00Z" } } });
  expect(st.conditions!.find((c) => c.type === "Ready")).toMatchObject({ status: "False", reason: "PodCompleted" });
  expect(hasRunningContainers(stopped)).toBe(false);
  expect(needsWork(stopped)).toBe(false);
  expect(needsWork({ ...stopped, metadata: { ...stopped.metadata, deletionTimestamp: "2025-01-01T00:01:00Z" } })).toBe(true);
});

test("a pod marked lost (NodeLost) needs work and the running patch clears the reason", () => {
  const running: Pod = { ...pod, status: { ...pod.status, ...runningStatus(pod, { podIP: "10.42.0.2", hostIP: "172.31.0.1" }, t1) } };
  const lost: Pod = { ...running, status: { ...running.status, reason: "NodeLost", message: "Node sim-0 which was running pod p is unresponsive" } };
  expect(needsWork(lost)).toBe(true);
  const patch = runningStatusPatch(lost, { podIP: "10.42.0.2", hostIP: "172.31.0.1" }, t2);
  expect(patch.reason).toBeNull();
  expect(patch.message).toBeNull();
  expect(patch.phase).toBe("Running");
});

test("an ephemeral container added by kubectl debug runs, never ready, and the pod needs its status written", () => {
  const running: Pod = { ...pod, status: { ...pod.status, ...runningStatus(pod, { podIP: "10.42.0.2", hostIP: "172.31.0.1" }, t1) } };
  const debugged: Pod = { ...running, spec: { ...running.spec!, ephemeralContainers: [{ name: "dbg", image: "busybox" }] } };
  expect(needsWork(debugged)).toBe(true);
  const st = runningStatus(debugged, { podIP: "10.42.0.2", hostIP: "172.31.0.1" }, t2);
  expect(st.ephemeralContainerStatuses).toEqual([expect.objectContaining({ name: "dbg", ready: false, state: { running: { startedAt: "2025-01-01T00:01:00Z" } } })]);
  expect(needsWork({ ...debugged, status: { ...debugged.status, ...st } })).toBe(false);
  expect(stoppedStatus({ ...debugged, status: { ...debugged.status, ...st } }, t2).ephemeralContainerStatuses![0].state?.terminated?.exitCode).toBe(0);
});
