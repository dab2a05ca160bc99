// Which webhooks a write is sent to, as upstream's webhook admission decides: the rules
// (operation, group, version, resource and subresource, scope; `*` anywhere), the match policy
// (Equivalent also matches the other versions a resource is served in), the namespace selector
// (on the labels of the object's namespace, or of the Namespace being written) and the object
// selector (on the labels of the new or the old object).
import type { KubeObject } from "../../../../api/meta";
import type { Rule, Webhook } from "../../../../api/resources/admissionregistration/webhooks";
import { selectorMatches } from "../../../../api/resources/common";

export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

/** What a write is, as the rules see it. */
export interface RequestAttributes {
  operation: Operation;
  group: string;
  version: string;
  resource: string;
  /** "" for the main resource. */
  subresource: string;
  namespaced: boolean;
  /** The other versions the resource is served in, for matchPolicy Equivalent. */
  otherVersions?: string[];
}

const has = (list: string[] | undefined, v: string) => !!list && (list.includes("*") || list.includes(v));

/** Whether a resource rule entry ("pods", "pods/status", "*", "*\/status", "pods/*") names the request. */
function resourceMatches(entry: string, resource: string, subresource: string): boolean {
  const [res, sub] = entry.split("/", 2) as [string, string | undefined];
  if (res !== "*" && res !== resource) return false;
  if (sub === undefined) return subresource === "";
  return sub === "*" || sub === subresource;
}

export function ruleMatches(rule: Rule & { operations?: string[] }, a: RequestAttributes, version = a.version): boolean {
  if (!has(rule.operations, a.operation)) return false;
  if (!has(rule.apiGroups, a.group)) return false;
  if (!has(rule.apiVersions, version)) return false;
  if (!(rule.resources ?? []).some((r) => resourceMatches(r, a.resource, a.subresource))) return false;
  const scope = rule.scope ?? "*";
  if (scope === "Cluster" && a.namespaced) return false;
  if (scope === "Namespaced" && !a.namespaced) return false;
  return true;
}

/** Whether any rule of the webhook names the request, under its match policy. */
export function rulesMatch(w: Webhook, a: RequestAttributes): boolean {
  const rules = w.rules ?? [];
  if (rules.some((r) => ruleMatches(r, a))) return true;
  if ((w.matchPolicy ?? "Equivalent") !== "Equivalent") return false;
  return (a.otherVersions ?? []).some((v) => rules.some((r) => ruleMatches(r, a, v)));
}

/**
 * The namespace selector: cluster-scoped objects other than Namespaces always match; a
 * Namespace is judged by its own labels; a namespaced object by its namespace's.
 */
export function namespaceSelectorMatches(w: Webhook, a: RequestAttributes, obj: KubeObject, namespaceLabels: (ns: string) => Record<string, string> | undefined): boolean {
  const sel = w.namespaceSelector ?? {};
  if (!sel.matchLabels && !sel.matchExpressions?.length) return true;
  if (a.group === "" && a.resource === "namespaces") return selectorMatches(sel, obj.metadata?.labels);
  if (!a.namespaced) return true;
  return selectorMatches(sel, namespaceLabels(obj.metadata?.namespace ?? "") ?? {});
}

/** The object selector, on the labels of the new object or of the old one. */
export function objectSelectorMatches(w: Webhook, obj: KubeObject | undefined, old: KubeObject | undefined): boolean {
  const sel = w.objectSelector ?? {};
  if (!sel.matchLabels && !sel.matchExpressions?.length) return true;
  return [obj, old].some((o) => o && selectorMatches(sel, o.metadata?.labels ?? {}));
}
