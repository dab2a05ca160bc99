// Whether one PolicyRule covers a request, as upstream's rbac authorizer matches them: `*` in
// verbs, apiGroups, resources or nonResourceURLs matches anything; a resource is `pods` or, for a
// subresource, `pods/log` (or `*/log` for that subresource of every resource); resourceNames
// narrow a rule to those names (a request without a name, such as a list, does not match it);
// a non-resource URL ending in `*` matches every path starting with what precedes it.
import type { PolicyRule } from "../../../api/resources/rbac/rbac";

/** What is asked: a resource request or a non-resource path (discovery, health). */
export type RbacRequest =
  | { verb: string; group: string; resource: string; subresource?: string; namespace?: string; name?: string; path?: undefined }
  | { verb: string; path: string };

const has = (list: readonly string[] | undefined, value: string) => !!list && (list.includes("*") || list.includes(value));

export function resourceMatches(rule: PolicyRule, resource: string, subresource: string | undefined): boolean {
  const combined = subresource ? `${resource}/${subresource}` : resource;
  for (const r of rule.resources ?? []) {
    if (r === "*" || r === combined) return true;
    if (subresource && r === `*/${subresource}`) return true;
  }
  return false;
}

export function nonResourceURLMatches(rule: PolicyRule, path: string): boolean {
  for (const u of rule.nonResourceURLs ?? []) {
    if (u === "*" || u === path) return true;
    if (u.endsWith("*") && path.startsWith(u.slice(0, -1))) return true;
  }
  return false;
}

export function ruleAllows(rule: PolicyRule, r: RbacRequest): boolean {
  if (!has(rule.verbs, r.verb)) return false;
  if (r.path !== undefined) return nonResourceURLMatches(rule, r.path);
  if (!has(rule.apiGroups, r.group) || !resourceMatches(rule, r.resource, r.subresource)) return false;
  const names = rule.resourceNames;
  return !names?.length || (r.name !== undefined && names.includes(r.name));
}
