import { expect, test } from "bun:test";
import type { Pod } from "../../api/resources/core/pod";
import { podsToDelete } from "./replicaset/manage";
import { isPodActive, isPodAvailable } from "./podutil";

const NOW = Date.parse("2025-01-01T12:00:00Z");
const ago = (s: number) => new Date(NOW - s * 1000).toISOString();

function pod(name: string, o: { node?: string; phase?: string; readyFor?: number; created?: number; restarts?: number } = {}): Pod {
  return {
    metadata: { name, uid: name, creationTimestamp: ago(o.created ?? 3600) },
    spec: { containers: [{ name: "c" }], ...(o.node && { nodeName: o.node }) },
    status: {
      phase: o.phase ?? "Pending",
      conditions: o.readyFor === undefined ? [] : [{ type: "Ready", status: "True", lastTransitionTime: ago(o.readyFor) }],
      containerStatuses: [{ name: "c", restartCount: o.restarts ?? 0 }],
    },
  } as Pod;
}

test("the least useful pods go first: unscheduled, pending, unready, doubled up, restarted, newest", () => {
  const pods = [
    pod("ready-old", { node: "n1", phase: "Running", readyFor: 3000 }),
    pod("unscheduled"),
    pod("running-unready", { node: "n2", phase: "Running" }),
    pod("pending-scheduled", { node: "n3" }),
    pod("unknown", { node: "n4", phase: "Unknown" }),
    pod("ready-new", { node: "n5", phase: "Running", readyFor: 5 }),
  ];
  const order = podsToDelete(pods, pods, 5, NOW).map((p) => p.metadata.name);
  expect(order).toEqual(["unscheduled", "pending-scheduled", "unknown", "running-unready", "ready-new"]);
});

test("among equals, doubled-up pods, then more restarts, then newer pods go first", () => {
  const a = pod("alone", { node: "n1", phase: "Running", readyFor: 100, created: 200 });
  const b = pod("crowded", { node: "n2", phase: "Running", readyFor: 100, created: 200 });
  const c = pod("crowded-sibling", { node: "n2", phase: "Running", readyFor: 7000, created: 9000 });
  expect(podsToDelete([a, b], [a, b, c], 1, NOW)[0].metadata.name).toBe("crowded");
  const restarted = pod("restarted", { node: "n1", phase: "Running", readyFor: 100, restarts: 3, created: 200 });
  const calm = pod("calm", { node: "n2", phase: "Running", readyFor: 100, created: 200 });
  expect(podsToDelete([calm, restarted], [calm, restarted], 1, NOW)[0].metadata.name).toBe("restarted");
  const older = pod("older", { node: "n1", created: 5000 });
  const newer = pod("newer", { node: "n2", created: 10 });
  expect(podsToDelete([older, newer], [older, newer], 1, NOW)[0].metadata.name).toBe("newer");
});

test("active and available", () => {
  expect(isPodActive(pod("p"))).toBe(true);
  expect(isPodActive(pod("p", { phase: "Succeeded" }))).toBe(false);
  expect(isPodActive({ ...pod("p"), metadata: { name: "p", deletionTimestamp: ago(0) } })).toBe(false);
  expect(isPodAvailable(pod("p", { readyFor: 5 }), 10, NOW)).toBe(false);
  expect(isPodAvailable(pod("p", { readyFor: 15 }), 10, NOW)).toBe(true);
  expect(isPodAvailable(pod("p"), 0, NOW)).toBe(false);
});
