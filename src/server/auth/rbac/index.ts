// The roles and bindings the RBAC authorizer reads, kept in memory and fed by the API server's
// watch. Bindings are indexed by subject (a user name — service accounts by their user name
// system:serviceaccount:<ns>:<name> — or a group), so judging a request looks at the bindings of
// that user and its groups only, never at every binding in the cluster.
import type { ClusterRole, PolicyRule, Role, RoleBinding, Subject } from "../../../api/resources/rbac/rbac";
import type { UserInfo } from "../authenticator";

export type RbacKind = "Role" | "ClusterRole" | "RoleBinding" | "ClusterRoleBinding";

/** A binding as the authorizer needs it: where it applies (RoleBinding: its namespace) and its role. */
export interface IndexedBinding {
  key: string;
  /** Undefined for a ClusterRoleBinding: it applies in every namespace and to non-resource URLs. */
  namespace?: string;
  roleKind: string;
  roleName: string;
  /** For explanations: "RoleBinding \"ns/name\"". */
  describe: string;
}

const userKey = (name: string) => `u:${name}`;
const groupKey = (name: string) => `g:${name}`;

/** The index key a subject is filed under; undefined for a subject that can never match. */
export function subjectKey(s: Subject, bindingNamespace: string | undefined): string | undefined {
  switch (s.kind) {
    case "User":
      return userKey(s.name);
    case "Group":
      return groupKey(s.name);
    case "ServiceAccount": {
      // A RoleBinding's service account without a namespace is one of the binding's namespace.
      const ns = s.namespace || bindingNamespace;
      return ns ? userKey(`system:serviceaccount:${ns}:${s.name}`) : undefined;
    }
    default:
      return undefined;
  }
}

export class RbacIndex {
  private roles = new Map<string, PolicyRule[]>();
  private clusterRoles = new Map<string, PolicyRule[]>();
  /** Subject key → bindings naming it. */
  private bySubject = new Map<string, Set<IndexedBinding>>();
  /** Binding key → the subject keys it was filed under, to unfile it. */
  private bindingSubjects = new Map<string, { binding: IndexedBinding; keys: string[] }>();

  put(kind: RbacKind, obj: Role | ClusterRole | RoleBinding): void {
    const { name, namespace } = obj.metadata;
    switch (kind) {
      case "Role":
        this.roles.set(`${namespace}/${name}`, (obj as Role).rules ?? []);
        return;
      case "ClusterRole":
        this.clusterRoles.set(name!, (obj as ClusterRole).rules ?? []);
        return;
      default: {
        const b = obj as RoleBinding;
        const key = `${kind}/${namespace ?? ""}/${name}`;
        this.unfile(key);
        if (!b.roleRef) return;
        const ns = kind === "RoleBinding" ? namespace : undefined;
        const binding: IndexedBinding = { key, namespace: ns, roleKind: b.roleRef.kind, roleName: b.roleRef.name, describe: `${kind} "${ns ? `${ns}/` : ""}${name}"` };
        const keys = [...new Set((b.subjects ?? []).map((s) => subjectKey(s, ns)).filter((k): k is string => k !== undefined))];
        for (const k of keys) {
          let set = this.bySubject.get(k);
          if (!set) this.bySubject.set(k, (set = new Set()));
          set.add(binding);
        }
        this.bindingSubjects.set(key, { binding, keys });
      }
    }
  }

  delete(kind: RbacKind, namespace: string | undefined, name: string): void {
    if (kind === "Role") this.roles.delete(`${namespace}/${name}`);
    else if (kind === "ClusterRole") this.clusterRoles.delete(name);
    else this.unfile(`${kind}/${namespace ?? ""}/${name}`);
  }

  private unfile(key: string) {
    const old = this.bindingSubjects.get(key);
    if (!old) return;
    for (const k of old.keys) {
      const set = this.bySubject.get(k);
      set?.delete(old.binding);
      if (set?.size === 0) this.bySubject.delete(k);
    }
    this.bindingSubjects.delete(key);
  }

  /** The bindings naming this user or one of its groups. */
  *bindingsOf(user: UserInfo): Generator<IndexedBinding> {
    const seen = new Set<IndexedBinding>();
    for (const key of [userKey(user.user), ...user.groups.map(groupKey)]) {
      for (const b of this.bySubject.get(key) ?? []) {
        if (seen.has(b)) continue;
        seen.add(b);
        yield b;
      }
    }
  }

  /** The rules a binding grants; undefined when its role does not exist (yet). */
  rulesOf(b: IndexedBinding): PolicyRule[] | undefined {
    return b.roleKind === "ClusterRole" ? this.clusterRoles.get(b.roleName) : b.namespace !== undefined ? this.roles.get(`${b.namespace}/${b.roleName}`) : undefined;
  }

  /** The rules of a Role (in `namespace`) or ClusterRole; undefined when it does not exist. */
  roleRules(kind: string, namespace: string | undefined, name: string): PolicyRule[] | undefined {
    if (kind === "ClusterRole") return this.clusterRoles.get(name);
    return kind === "Role" && namespace !== undefined ? this.roles.get(`${namespace}/${name}`) : undefined;
  }

  /** Every rule that applies to the user in `namespace` (cluster-wide ones only when undefined). */
  rulesFor(user: UserInfo, namespace: string | undefined): PolicyRule[] {
    const out: PolicyRule[] = [];
    for (const b of this.bindingsOf(user)) {
      if (b.namespace !== undefined && b.namespace !== namespace) continue;
      const rules = this.rulesOf(b);
      if (rules) out.push(...rules);
    }
    return out;
  }
}
