// Taints and tolerations as upstream's v1helper reads them, and the NoExecute eviction deadline
// of a pod on a tainted node (the taint manager's rule). Pure functions.
import type { Taint } from "../../../api/resources/core/node";
import type { Toleration } from "../../../api/resources/core/podspec.schema";

export const UNREACHABLE = "node.kubernetes.io/unreachable";
export const NOT_READY = "node.kubernetes.io/not-ready";

/** ToleratesTaint: effect (empty tolerates all), key (empty with Exists tolerates all), value. */
export function tolerates(t: Toleration, taint: Pick<Taint, "key" | "value" | "effect">): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? "Equal") {
    case "Exists":
      return true;
    case "Equal":
      return (t.value ?? "") === (taint.value ?? "");
    default:
      return false;
  }
}

export const toleratesAll = (tolerations: Toleration[] | undefined, taints: Taint[], effects: string[]): boolean =>
  taints.filter((x) => effects.includes(x.effect)).every((taint) => (tolerations ?? []).some((t) => tolerates(t, taint)));

export interface EvictionOptions {
  /**
   * What a pod with no toleration for the not-ready/unreachable taints tolerates them for:
   * upstream's DefaultTolerationSeconds admission gives every pod 300 s; bramble, 10 s.
   */
  defaultNotReadyTolerationS: number;
  /** When a taint without timeAdded was first seen (ms), so its clock does not restart. */
  taintSince(taint: Taint): number;
}

/**
 * When a pod on a node with these taints must go: undefined when it tolerates all NoExecute
 * taints forever, else a time in ms (possibly in the past: evict now).
 */
export function evictionDeadline(tolerations: Toleration[] | undefined, taints: Taint[], opts: EvictionOptions): number | undefined {
  let deadline: number | undefined;
  for (const taint of taints) {
    if (taint.effect !== "NoExecute") continue;
    const since = taint.timeAdded ? Date.parse(taint.timeAdded) : opts.taintSince(taint);
    const matching = (tolerations ?? []).filter((t) => tolerates(t, taint));
    let seconds: number | undefined;
    if (matching.length) {
      // The shortest bounded toleration wins; any unbounded one means "forever" (upstream's getMinTolerationTime).
      if (matching.some((t) => t.tolerationSeconds === undefined || t.tolerationSeconds === null)) continue;
      seconds = Math.min(...matching.map((t) => Math.max(0, t.tolerationSeconds!)));
    } else if (taint.key === UNREACHABLE || taint.key === NOT_READY) seconds = opts.defaultNotReadyTolerationS;
    else seconds = 0;
    const at = since + seconds * 1000;
    deadline = deadline === undefined ? at : Math.min(deadline, at);
  }
  return deadline;
}
