// Node selector terms and tolerations, matched as upstream's component-helpers do. Shared by
// the filters (required) and the scores (preferred).
import type { Taint } from "../../api/resources/core/node";
import type { Toleration } from "../../api/resources/core/podspec.schema";
import type { NodeInfo, NodeSelectorRequirement, NodeSelectorTerm } from "./types";

const INT = /^-?\d+$/;

function requirementMatches(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const has = value !== undefined;
  const values = r.values ?? [];
  switch (r.operator) {
    case "In":
      return has && values.includes(value);
    case "NotIn":
      return !has || !values.includes(value);
    case "Exists":
      return has;
    case "DoesNotExist":
      return !has;
    case "Gt":
    case "Lt": {
      // Both sides must be integers, else upstream's ParseInt fails and the term does not match.
      if (!has || values.length !== 1 || !INT.test(value) || !INT.test(values[0])) return false;
      const [a, b] = [BigInt(value), BigInt(values[0])];
      return r.operator === "Gt" ? a > b : a < b;
    }
    default:
      return false;
  }
}

/** Upstream supports only metadata.name in matchFields, and only In/NotIn there. */
function fieldMatches(r: NodeSelectorRequirement, node: NodeInfo): boolean {
  if (r.key !== "metadata.name" || (r.operator !== "In" && r.operator !== "NotIn")) return false;
  return requirementMatches(r, node.name);
}

/** A term ANDs its requirements; a term with none matches no node (as upstream). */
export function termMatches(term: NodeSelectorTerm, node: NodeInfo): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (exprs.length === 0 && fields.length === 0) return false;
  for (const e of exprs) if (!requirementMatches(e, Object.hasOwn(node.labels, e.key) ? node.labels[e.key] : undefined)) return false;
  for (const f of fields) if (!fieldMatches(f, node)) return false;
  return true;
}

/** nodeSelectorTerms are ORed; an empty list matches nothing. */
export const anyTermMatches = (terms: readonly NodeSelectorTerm[], node: NodeInfo): boolean => terms.some((t) => termMatches(t, node));

/** Upstream's ToleratesTaint: empty effect matches all effects, empty key with Exists matches all keys. */
export function toleratesTaint(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  if (t.key && t.key !== taint.key) return false;
  switch (t.operator ?? "") {
    case "":
    case "Equal":
      return (t.value ?? "") === (taint.value ?? "");
    case "Exists":
      return true;
    default:
      return false;
  }
}

export const tolerated = (tolerations: readonly Toleration[], taint: Taint): boolean => tolerations.some((t) => toleratesTaint(t, taint));
