// Which nodes a DaemonSet's pod belongs on (upstream's NodeShouldRunDaemonPod): the template's
// nodeSelector and required node affinity must match, and the pod, with the tolerations every
// daemon pod gets, must tolerate the node's NoSchedule and NoExecute taints to start there, or
// its NoExecute taints to keep running there. Cordoned nodes still run daemon pods (upstream's
// unschedulable toleration), as do not-ready ones: the daemon may be what makes a node ready.
import type { Node } from "../../../api/resources/core/node";
import type { PodSpec, Toleration } from "../../../api/resources/core/podspec.schema";
import { toleratesAll } from "../nodelifecycle/taints";

type NodeSelectorTerm = NonNullable<NonNullable<NonNullable<PodSpec["affinity"]>["nodeAffinity"]>["requiredDuringSchedulingIgnoredDuringExecution"]>["nodeSelectorTerms"][number];
type Requirement = NonNullable<NodeSelectorTerm["matchExpressions"]>[number];

/** upstream's AddOrUpdateDaemonPodTolerations. */
export function daemonTolerations(spec: PodSpec | undefined): Toleration[] {
  const extra: Toleration[] = [
    { key: "node.kubernetes.io/not-ready", operator: "Exists", effect: "NoExecute" },
    { key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute" },
    { key: "node.kubernetes.io/disk-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/memory-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/pid-pressure", operator: "Exists", effect: "NoSchedule" },
    { key: "node.kubernetes.io/unschedulable", operator: "Exists", effect: "NoSchedule" },
    ...(spec?.hostNetwork ? [{ key: "node.kubernetes.io/network-unavailable", operator: "Exists", effect: "NoSchedule" }] : []),
  ];
  const own = spec?.tolerations ?? [];
  return [...own, ...extra.filter((t) => !own.some((o) => o.key === t.key && o.effect === t.effect))];
}

function requirementMatches(r: Requirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case "In":
      return value !== undefined && values.includes(value);
    case "NotIn":
      return value === undefined || !values.includes(value);
    case "Exists":
      return value !== undefined;
    case "DoesNotExist":
      return value === undefined;
    case "Gt":
    case "Lt": {
      if (value === undefined || !/^-?\d+$/.test(value) || !/^-?\d+$/.test(values[0] ?? "")) return false;
      return r.operator === "Gt" ? BigInt(value) > BigInt(values[0]) : BigInt(value) < BigInt(values[0]);
    }
    default:
      return false;
  }
}

/** A term with no requirements matches nothing (upstream); terms are ORed, requirements ANDed. */
export function nodeMatchesTerms(node: Node, terms: NodeSelectorTerm[]): boolean {
  const labels = node.metadata.labels ?? {};
  return terms.some((t) => {
    const exprs = t.matchExpressions ?? [];
    const fields = t.matchFields ?? [];
    if (!exprs.length && !fields.length) return false;
    return (
      exprs.every((r) => requirementMatches(r, Object.hasOwn(labels, r.key) ? labels[r.key] : undefined)) &&
      fields.every((r) => r.key === "metadata.name" && requirementMatches(r, node.metadata.name))
    );
  });
}

export interface Placement {
  /** A daemon pod should be started here. */
  shouldRun: boolean;
  /** A daemon pod already here may stay. */
  shouldContinueRunning: boolean;
}

export function placementOn(node: Node, spec: PodSpec | undefined): Placement {
  const selector = spec?.nodeSelector ?? {};
  const labels = node.metadata.labels ?? {};
  const required = spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms;
  const fits = Object.entries(selector).every(([k, v]) => labels[k] === v) && (!required || nodeMatchesTerms(node, required));
  if (!fits) return { shouldRun: false, shouldContinueRunning: false };
  const tolerations = daemonTolerations(spec);
  const taints = node.spec?.taints ?? [];
  return {
    shouldRun: toleratesAll(tolerations, taints, ["NoSchedule", "NoExecute"]),
    shouldContinueRunning: toleratesAll(tolerations, taints, ["NoExecute"]),
  };
}
