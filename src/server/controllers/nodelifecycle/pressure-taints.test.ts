import { expect, test } from "bun:test";
import type { Node, NodeCondition, Taint } from "../../../api/resources/core/node";
import { makePod, nodeInfo, podInfo } from "../../scheduler/harness";
import { taintToleration } from "../../scheduler/filters/taints";
import { taintsFor } from "./health";

const now = "2026-01-01T00:00:00Z";
const cond = (type: string, status: string): NodeCondition => ({ type, status, lastHeartbeatTime: now, lastTransitionTime: now });
const node = (conditions: NodeCondition[], taints?: Taint[]): Node =>
  ({ metadata: { name: "n" }, spec: { taints }, status: { conditions } }) as Node;

test("a pressure condition that is True puts its NoSchedule taint on the node, as upstream's node lifecycle controller", () => {
  const taints = taintsFor(node([cond("Ready", "True"), cond("MemoryPressure", "True"), cond("DiskPressure", "True"), cond("PIDPressure", "True")]), now);
  expect(taints).toEqual([
    { key: "node.kubernetes.io/memory-pressure", effect: "NoSchedule" },
    { key: "node.kubernetes.io/disk-pressure", effect: "NoSchedule" },
    { key: "node.kubernetes.io/pid-pressure", effect: "NoSchedule" },
  ]);
});

test("the taint goes when the condition does; other taints stay; Unknown pressure (a lost node) adds none", () => {
  const tainted = node([cond("Ready", "True"), cond("DiskPressure", "False")], [
    { key: "node.kubernetes.io/disk-pressure", effect: "NoSchedule" },
    { key: "dedicated", value: "db", effect: "NoSchedule" },
  ]);
  expect(taintsFor(tainted, now)).toEqual([{ key: "dedicated", value: "db", effect: "NoSchedule" }]);
  const lost = taintsFor(node([cond("Ready", "Unknown"), cond("MemoryPressure", "Unknown")]), now)!;
  expect(lost.map((t) => t.key)).toEqual(["node.kubernetes.io/unreachable", "node.kubernetes.io/unreachable"]);
  expect(taintsFor(node([cond("Ready", "True"), cond("MemoryPressure", "True")], [{ key: "node.kubernetes.io/memory-pressure", effect: "NoSchedule" }]), now)).toBeUndefined();
});

test("the scheduler keeps pods off a node under pressure unless they tolerate it", () => {
  const taints = taintsFor(node([cond("Ready", "True"), cond("MemoryPressure", "True")]), now)!;
  const info = nodeInfo({ metadata: { name: "n" }, spec: { taints }, status: { conditions: [cond("Ready", "True")] } } as Node);
  expect(taintToleration.filter(podInfo(makePod("p")), info)).toEqual(["node(s) had untolerated taint {node.kubernetes.io/memory-pressure: }"]);
  const tolerant = podInfo(makePod("p", { spec: { tolerations: [{ key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" }] } }));
  expect(taintToleration.filter(tolerant, info)).toBeUndefined();
});
