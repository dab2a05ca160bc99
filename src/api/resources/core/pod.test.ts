import { describe, expect, test } from "bun:test";
import { pods, podSummary, type Pod } from "./pod";

const now = new Date("2024-05-01T12:00:00Z");
const base = (extra: Partial<Pod> = {}): Pod =>
  ({
    metadata: { name: "web", namespace: "default", creationTimestamp: "2024-05-01T11:55:00Z" },
    spec: { containers: [{ name: "a", image: "x" }, { name: "b", image: "y" }] },
    ...extra,
  }) as Pod;

describe("pod table", () => {
  test("columns match upstream's", () => {
    expect(pods.table.columns.map((c) => [c.name, c.priority])).toEqual([
      ["Name", 0],
      ["Ready", 0],
      ["Status", 0],
      ["Restarts", 0],
      ["Age", 0],
      ["IP", 1],
      ["Node", 1],
      ["Nominated Node", 1],
      ["Readiness Gates", 1],
    ]);
  });

  test("a running pod", () => {
    const pod = base({
      status: {
        phase: "Running",
        podIP: "10.42.0.5",
        podIPs: [{ ip: "10.42.0.5" }],
        conditions: [{ type: "Ready", status: "True" }],
        containerStatuses: [
          { name: "a", ready: true, restartCount: 0, image: "x", imageID: "", state: { running: { startedAt: "2024-05-01T11:56:00Z" } } },
          {
            name: "b",
            ready: true,
            restartCount: 2,
            image: "y",
            imageID: "",
            state: { running: { startedAt: "2024-05-01T11:58:00Z" } },
            lastState: { terminated: { exitCode: 1, finishedAt: "2024-05-01T11:57:30Z" } },
          },
        ],
      },
    });
    pod.spec!.nodeName = "pi-1";
    expect(pods.table.row(pod, now)).toEqual(["web", "2/2", "Running", "2 (2m30s ago)", "5m", "10.42.0.5", "pi-1", "<none>", "<none>"]);
  });

  test("pending, container creating, crash loop, completed, terminating", () => {
    expect(podSummary(base({ status: { phase: "Pending" } }), now)).toEqual({ ready: "0/2", status: "Pending", restarts: "0" });
    const waiting = (reason: string) =>
      base({
        status: {
          phase: "Pending",
          containerStatuses: [
            { name: "a", ready: false, restartCount: 0, image: "x", imageID: "", state: { waiting: { reason } } },
            { name: "b", ready: false, restartCount: 0, image: "y", imageID: "", state: { waiting: { reason: "ContainerCreating" } } },
          ],
        },
      });
    expect(podSummary(waiting("ContainerCreating"), now).status).toBe("ContainerCreating");
    expect(podSummary(waiting("CrashLoopBackOff"), now).status).toBe("CrashLoopBackOff");
    const done = base({
      status: {
        phase: "Succeeded",
        containerStatuses: [
          { name: "a", ready: false, restartCount: 0, image: "x", imageID: "", state: { terminated: { exitCode: 0, reason: "Completed" } } },
          { name: "b", ready: false, restartCount: 0, image: "y", imageID: "", state: { terminated: { exitCode: 0, reason: "Completed" } } },
        ],
      },
    });
    expect(podSummary(done, now).status).toBe("Completed");
    const deleting = base({ status: { phase: "Running" } });
    deleting.metadata.deletionTimestamp = "2024-05-01T11:59:00Z";
    expect(podSummary(deleting, now).status).toBe("Terminating");
    const exited = base({
      status: { phase: "Failed", containerStatuses: [{ name: "a", ready: false, restartCount: 0, image: "x", imageID: "", state: { terminated: { exitCode: 137, signal: 0 } } }] },
    });
    expect(podSummary(exited, now).status).toBe("ExitCode:137");
  });

  test("init containers", () => {
    const pod = base({
      spec: { initContainers: [{ name: "i1", image: "x" }, { name: "i2", image: "x" }], containers: [{ name: "a", image: "x" }] },
      status: {
        phase: "Pending",
        initContainerStatuses: [
          { name: "i1", ready: false, restartCount: 0, image: "x", imageID: "", state: { terminated: { exitCode: 0, reason: "Completed" } } },
          { name: "i2", ready: false, restartCount: 0, image: "x", imageID: "", state: { running: {} } },
        ],
      },
    });
    expect(podSummary(pod, now).status).toBe("Init:1/2");
    pod.status!.initContainerStatuses![1].state = { waiting: { reason: "CrashLoopBackOff" } };
    expect(podSummary(pod, now).status).toBe("Init:CrashLoopBackOff");
  });

  test("field selectors", () => {
    const pod = base({ status: { phase: "Running" } });
    expect(pods.fieldSelectors!["spec.nodeName"](pod)).toBe("");
    expect(pods.fieldSelectors!["status.phase"](pod)).toBe("Running");
  });
});
