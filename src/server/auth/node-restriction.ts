// What upstream's NodeRestriction admission plugin keeps a kubelet from doing to its own Node:
// setting or changing labels under node-restriction.kubernetes.io/ (an admin's way to steer
// workloads to nodes the nodes themselves cannot claim), and changing its taints after
// registration (a node could otherwise untaint itself to draw in what was kept away). Judged
// from the request body against the Node as stored, before the write: any body that could
// touch those fields without saying so plainly (not JSON, a wholesale replacement of
// metadata or spec) is refused, so nothing slips past by its encoding.
import type { KubeObject } from "../../api/meta";

const RESTRICTED_LABEL_DOMAIN = "node-restriction.kubernetes.io";

/** Upstream's check: the label's prefix is node-restriction.kubernetes.io or a subdomain of it. */
export function isRestrictedNodeLabel(key: string): boolean {
  const slash = key.indexOf("/");
  if (slash < 0) return false;
  const prefix = key.slice(0, slash);
  return prefix === RESTRICTED_LABEL_DOMAIN || prefix.endsWith(`.${RESTRICTED_LABEL_DOMAIN}`);
}

type Loose = Record<string, any>;
const isObject = (v: unknown): v is Loose => typeof v === "object" && v !== null && !Array.isArray(v);

const restrictedLabels = (labels: unknown): Record<string, unknown> =>
  isObject(labels) ? Object.fromEntries(Object.entries(labels).filter(([k]) => isRestrictedNodeLabel(k))) : {};

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
const sortedEntries = (o: Record<string, unknown>) => Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
const sameLabels = (a: Record<string, unknown>, b: Record<string, unknown>) => sameJson(sortedEntries(a), sortedEntries(b));
const taintsOf = (node: unknown) => (isObject(node) && isObject(node.spec) ? (node.spec.taints ?? []) : []);

/** Why a kubelet may not create this Node, or undefined. Taints at registration are the node's to set. */
export function nodeCreateProblem(node: string, body: unknown): string | undefined {
  const labels = Object.keys(restrictedLabels(isObject(body) && isObject(body.metadata) ? body.metadata.labels : undefined));
  return labels.length ? `node "${node}" is not allowed to set the following labels: ${labels.sort().join(", ")}` : undefined;
}

/**
 * Why a kubelet may not send this update (the whole object) or patch (`contentType` names the
 * format) of its own Node, or undefined.
 */
export function nodeWriteProblem(node: string, current: KubeObject | undefined, verb: "update" | "patch", body: unknown, contentType: string): string | undefined {
  const labelsChanged = `node "${node}" is not allowed to modify labels under ${RESTRICTED_LABEL_DOMAIN}/`;
  const taintsChanged = `node "${node}" is not allowed to modify taints`;
  const unreadable = `node "${node}" may only write its Node as JSON: an update, or a JSON, merge or strategic merge patch`;
  const currentLabels = restrictedLabels(current?.metadata.labels);
  const type = contentType.split(";")[0].trim().toLowerCase();

  if (verb === "update") {
    if (!isObject(body)) return unreadable;
    const metadata = body.metadata;
    if (!sameLabels(restrictedLabels(isObject(metadata) ? metadata.labels : undefined), currentLabels)) return labelsChanged;
    if (!sameJson(taintsOf(body), taintsOf(current))) return taintsChanged;
    return undefined;
  }
  if (type === "application/json-patch+json") {
    if (!Array.isArray(body)) return unreadable;
    for (const op of body) {
      if (!isObject(op)) return unreadable;
      for (const path of [op.path, op.from]) {
        if (path === undefined) continue;
        if (typeof path !== "string") return unreadable;
        const label = /^\/metadata\/labels\/([^/]*)/.exec(path)?.[1]?.replace(/~1/g, "/").replace(/~0/g, "~");
        if (label !== undefined && isRestrictedNodeLabel(label)) return labelsChanged;
        if (path === "/spec/taints" || path.startsWith("/spec/taints/")) return taintsChanged;
        // The whole label map: only when neither the stored labels nor the new ones hold a restricted one.
        if (path === "/metadata/labels" && (Object.keys(currentLabels).length || Object.keys(restrictedLabels(op.value)).length)) return labelsChanged;
        // A parent replaced wholesale could carry anything: a kubelet never needs that.
        if (["", "/", "/metadata"].includes(path)) return labelsChanged;
        if (path === "/spec") return taintsChanged;
      }
    }
    return undefined;
  }
  // Other patch formats (server-side apply) are not judged here: refused.
  if (type !== "application/merge-patch+json" && type !== "application/strategic-merge-patch+json") return unreadable;
  if (!isObject(body)) return unreadable;
  const metadata = body.metadata;
  // Merge and strategic merge patches name every key they set or remove (null); a strategic
  // directive ($patch: replace, $retainKeys, ...) on the way to a field may replace it whole.
  const directive = (o: unknown) => isObject(o) && Object.keys(o).some((k) => k.startsWith("$"));
  const hasRestricted = Object.keys(currentLabels).length > 0;
  if (directive(body) && (hasRestricted || taintsOf(current).length)) return hasRestricted ? labelsChanged : taintsChanged;
  if (metadata === null || (isObject(metadata) && (metadata.labels === null || directive(metadata) || directive(metadata.labels)))) {
    if (hasRestricted) return labelsChanged;
  }
  if (isObject(metadata) && Object.keys(restrictedLabels(metadata.labels)).length) return labelsChanged;
  if (body.spec === null || (isObject(body.spec) && ("taints" in body.spec || directive(body.spec)))) return taintsChanged;
  return undefined;
}
