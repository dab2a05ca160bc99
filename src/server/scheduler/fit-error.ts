// The message of a pod that fits nowhere, worded and ordered as upstream's FitError:
// "0/10 nodes are available: 2 node(s) were unschedulable, 8 Insufficient cpu." Each reason is
// counted per node and the "N reason" strings are sorted as plain strings (Go's sort.Strings).

export const NO_NODES = "no nodes available to schedule pods";

export function fitErrorMessage(totalNodes: number, reasons: ReadonlyMap<string, number>): string {
  if (totalNodes === 0) return NO_NODES;
  const parts = [...reasons].map(([reason, n]) => `${n} ${reason}`).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return `0/${totalNodes} nodes are available: ${parts.join(", ")}.`;
}

/** A reason that rules out every node at once (a PreFilter's), worded as upstream's FitError. */
export function preFilterMessage(totalNodes: number, reason: string): string {
  if (totalNodes === 0) return NO_NODES;
  return `0/${totalNodes} nodes are available: ${reason}.`;
}
