// Escalation prevention, as upstream's RBAC registry: writing a Role or ClusterRole, or a binding,
// may not grant permissions the writer does not hold. A role's rules (a binding: the rules of the
// role it references, in the binding's namespace) must each be covered by the writer's own
// rules, unless the writer may `escalate` that role (roles) or `bind` the referenced role
// (bindings). An aggregationRule needs the writer to hold every permission. Members of
// system:masters, and the server's own writes, are not checked.
import type { KubeObject } from "../../../api/meta";
import type { ClusterRole, PolicyRule, RoleBinding } from "../../../api/resources/rbac/rbac";
import { RBAC_GROUP } from "../../../api/resources/rbac/rbac";
import type { UserInfo } from "../authenticator";
import { PRIVILEGED_GROUP, rbacAllows } from "./authorize";
import type { RbacIndex } from "./index";
import { ruleAllows, type RbacRequest } from "./rules";

/** One verb on one group/resource/name, or one verb on one URL: what upstream's BreakdownRule yields. */
function breakdown(rule: PolicyRule): RbacRequest[] {
  const out: RbacRequest[] = [];
  for (const verb of rule.verbs ?? []) {
    for (const group of rule.apiGroups ?? [])
      for (const res of rule.resources ?? []) {
        const slash = res.indexOf("/");
        const [resource, subresource] = slash < 0 ? [res, undefined] : [res.slice(0, slash), res.slice(slash + 1)];
        const names = rule.resourceNames?.length ? rule.resourceNames : [undefined];
        for (const name of names) out.push({ verb, group, resource, subresource, name });
      }
    for (const path of rule.nonResourceURLs ?? []) out.push({ verb, path });
  }
  return out;
}

/** A single permission covered by one of `owner`: `*` in the servant is covered only by `*`. */
function covered(owner: PolicyRule[], r: RbacRequest): boolean {
  // ruleAllows already asks an owner rule with resourceNames for a servant with one of those names.
  return owner.some((rule) => ruleAllows(rule, r));
}

/** The permissions of `rules` not covered by `owner`, merged by resource and sorted, as upstream prints them. */
export function uncoveredRules(owner: PolicyRule[], rules: PolicyRule[]): PolicyRule[] {
  const merged = new Map<string, PolicyRule>();
  for (const rule of rules)
    for (const r of breakdown(rule)) {
      if (covered(owner, r)) continue;
      const key = r.path !== undefined ? `url:${r.path}` : `res:${r.group}/${r.resource}${r.subresource ? `/${r.subresource}` : ""}/${r.name ?? ""}`;
      let m = merged.get(key);
      if (!m) {
        m =
          r.path !== undefined
            ? { verbs: [], nonResourceURLs: [r.path] }
            : { verbs: [], apiGroups: [r.group], resources: [r.subresource ? `${r.resource}/${r.subresource}` : r.resource], ...(r.name !== undefined ? { resourceNames: [r.name] } : {}) };
        merged.set(key, m);
      }
      if (!m.verbs.includes(r.verb)) m.verbs.push(r.verb);
    }
  return [...merged.values()].map((m) => ({ m, s: compactString(m) })).sort((a, b) => (a.s < b.s ? -1 : a.s > b.s ? 1 : 0)).map((x) => x.m);
}

const goQuoted = (list: string[]) => `[${list.map((s) => JSON.stringify(s)).join(" ")}]`;

/** Upstream's PolicyRule CompactString: `{APIGroups:[""], Resources:["pods"], Verbs:["get"]}`. */
export function compactString(r: PolicyRule): string {
  const parts: string[] = [];
  if (r.apiGroups?.length) parts.push(`APIGroups:${goQuoted(r.apiGroups)}`);
  if (r.resources?.length) parts.push(`Resources:${goQuoted(r.resources)}`);
  if (r.resourceNames?.length) parts.push(`ResourceNames:${goQuoted(r.resourceNames)}`);
  if (r.nonResourceURLs?.length) parts.push(`NonResourceURLs:${goQuoted(r.nonResourceURLs)}`);
  if (r.verbs?.length) parts.push(`Verbs:${goQuoted(r.verbs)}`);
  return `{${parts.join(", ")}}`;
}

const FULL_AUTHORITY: PolicyRule[] = [
  { verbs: ["*"], apiGroups: ["*"], resources: ["*"] },
  { verbs: ["*"], nonResourceURLs: ["*"] },
];

/** Whether an update changes only what the garbage collector writes (upstream's IsOnlyMutatingGCFields). */
function onlyGcFields(obj: KubeObject, old: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { ownerReferences: _o, finalizers: _f, resourceVersion: _r, managedFields: _m, generation: _g, ...meta } = o.metadata as Record<string, unknown>;
    return JSON.stringify({ ...o, metadata: meta });
  };
  return strip(obj) === strip(old);
}

/**
 * Why `user` may not write `obj` (kind one of the four RBAC kinds, `namespace` its namespace),
 * or undefined when it may. The reason is upstream's, to follow `<plural> "<name>" is forbidden: `.
 */
export function escalationProblem(index: RbacIndex, user: UserInfo, kind: string, obj: KubeObject, old: KubeObject | undefined): string | undefined {
  if (user.groups.includes(PRIVILEGED_GROUP)) return undefined;
  if (old && onlyGcFields(obj, old)) return undefined;
  const namespace = kind === "Role" || kind === "RoleBinding" ? obj.metadata.namespace : undefined;
  const who = `user ${JSON.stringify(user.user)} (groups=${goQuoted(user.groups)})`;
  const notHeld = (rules: PolicyRule[]) => {
    const missing = uncoveredRules(index.rulesFor(user, namespace), rules);
    return missing.length ? `${who} is attempting to grant RBAC permissions not currently held:\n${missing.map(compactString).join("\n")}` : undefined;
  };
  if (kind === "Role" || kind === "ClusterRole") {
    const plural = kind === "Role" ? "roles" : "clusterroles";
    if (rbacAllows(index, user, { verb: "escalate", group: RBAC_GROUP, resource: plural, namespace, name: obj.metadata.name })) return undefined;
    const role = obj as ClusterRole;
    if (role.aggregationRule && uncoveredRules(index.rulesFor(user, undefined), FULL_AUTHORITY).length) return "must have cluster-admin privileges to use the aggregationRule";
    return notHeld(role.rules ?? []);
  }
  const ref = (obj as RoleBinding).roleRef;
  if (!ref) return undefined;
  const rolePlural = ref.kind === "Role" ? "roles" : "clusterroles";
  if (rbacAllows(index, user, { verb: "bind", group: RBAC_GROUP, resource: rolePlural, namespace, name: ref.name })) return undefined;
  const rules = index.roleRules(ref.kind, namespace, ref.name);
  if (!rules) return `${ref.kind.toLowerCase()}s.${RBAC_GROUP} "${ref.name}" not found`;
  return notHeld(rules);
}
