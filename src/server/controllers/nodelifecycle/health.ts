// Node health, pure: a heartbeat's identity, the conditions of a node whose agent went quiet,
// and the lifecycle taints that follow its Ready and pressure conditions (upstream's node
// lifecycle and taint-nodes-by-condition rules).
import type { Lease } from "../../../api/resources/coordination/lease";
import type { Node, NodeCondition, Taint } from "../../../api/resources/core/node";
import { NOT_READY, UNREACHABLE } from "./taints";

export const readyCondition = (node: Node) => node.status?.conditions?.find((c) => c.type === "Ready");

/**
 * What changes when the node's agent is alive: its Lease's renewTime and its Ready condition's
 * lastHeartbeatTime. Compared as text; when it changes is measured on our clock, not theirs.
 */
export const heartbeatOf = (node: Node, lease: Lease | undefined) => `${lease?.spec?.renewTime ?? ""}|${readyCondition(node)?.lastHeartbeatTime ?? ""}`;

/** Every condition goes Unknown (upstream's tryUpdateNodeHealth); undefined when already so. */
export function unknownConditions(conditions: NodeCondition[] | undefined, now: string): NodeCondition[] | undefined {
  const list = [...(conditions ?? [])];
  let changed = false;
  if (!list.some((c) => c.type === "Ready")) {
    list.push({ type: "Ready", status: "Unknown", reason: "NodeStatusNeverUpdated", message: "Kubelet never posted node status.", lastHeartbeatTime: now, lastTransitionTime: now });
    changed = true;
  }
  const out = list.map((c) => {
    if (c.status === "Unknown") return c;
    changed = true;
    return { ...c, status: "Unknown", reason: "NodeStatusUnknown", message: "Kubelet stopped posting node status.", lastTransitionTime: now };
  });
  return changed ? out : undefined;
}

/** Pressure conditions and their NoSchedule taints (upstream's nodeConditionToTaintKeyStatusMap). */
export const PRESSURE_TAINTS: Record<string, string> = {
  MemoryPressure: "node.kubernetes.io/memory-pressure",
  DiskPressure: "node.kubernetes.io/disk-pressure",
  PIDPressure: "node.kubernetes.io/pid-pressure",
};

const LIFECYCLE_KEYS = [UNREACHABLE, NOT_READY, ...Object.values(PRESSURE_TAINTS)];

/**
 * The node's taints with the lifecycle ones matching its conditions; undefined when nothing
 * changes. Ready=False/Unknown: not-ready/unreachable, NoSchedule and NoExecute; a pressure
 * condition that is True: its pressure taint, NoSchedule only (doNoScheduleTaintingPass).
 */
export function taintsFor(node: Node, now: string): Taint[] | undefined {
  const ready = readyCondition(node);
  if (!ready) return undefined; // never reported: the agent's registration decides, we do not guess
  const key = ready.status === "Unknown" ? UNREACHABLE : ready.status === "False" ? NOT_READY : undefined;
  const current = node.spec?.taints ?? [];
  const desired: { key: string; effect: string }[] = key ? ["NoSchedule", "NoExecute"].map((effect) => ({ key, effect })) : [];
  for (const c of node.status?.conditions ?? []) {
    if (c.status === "True" && PRESSURE_TAINTS[c.type]) desired.push({ key: PRESSURE_TAINTS[c.type]!, effect: "NoSchedule" });
  }
  const keep = current.filter((t) => !LIFECYCLE_KEYS.includes(t.key) || desired.some((d) => d.key === t.key && d.effect === t.effect));
  const add = desired.filter((d) => !current.some((t) => t.key === d.key && t.effect === d.effect)).map((d) => ({ ...d, ...(d.effect === "NoExecute" && { timeAdded: now }) }));
  if (!add.length && keep.length === current.length) return undefined;
  return [...keep, ...add];
}
