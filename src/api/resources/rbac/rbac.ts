// rbac.authorization.k8s.io/v1: Role and ClusterRole (sets of rules: verbs on resources or
// non-resource URLs), RoleBinding and ClusterRoleBinding (grant a role's rules to users, groups
// and service accounts). Validation as upstream's pkg/apis/rbac/validation; the authorizer that
// reads them is src/server/auth/rbac/.
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { LabelSelectorSchema, Obj, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldInvalid, fieldNotSupported, fieldRequired, validateLabelSelector } from "../../validation";
import { jsonEqual } from "../common";

const Opt = Type.Optional;
const Strings = Type.Array(Type.String());

export const RBAC_GROUP = "rbac.authorization.k8s.io";

export const PolicyRuleSchema = Obj({
  verbs: Strings,
  apiGroups: Opt(Strings),
  resources: Opt(Strings),
  resourceNames: Opt(Strings),
  nonResourceURLs: Opt(Strings),
});
export const SubjectSchema = Obj({ kind: Type.String(), apiGroup: Opt(Type.String()), name: Type.String(), namespace: Opt(Type.String()) });
export const RoleRefSchema = Obj({ apiGroup: Type.String(), kind: Type.String(), name: Type.String() });

export const RoleSchema = TopLevel({ rules: Opt(Type.Array(PolicyRuleSchema)) }, "Role is a namespaced, logical grouping of PolicyRules that can be referenced as a unit by a RoleBinding.");
export const ClusterRoleSchema = TopLevel(
  {
    rules: Opt(Type.Array(PolicyRuleSchema)),
    aggregationRule: Opt(Obj({ clusterRoleSelectors: Opt(Type.Array(LabelSelectorSchema)) })),
  },
  "ClusterRole is a cluster level, logical grouping of PolicyRules that can be referenced as a unit by a RoleBinding or ClusterRoleBinding.",
);
const bindingProps = { subjects: Opt(Type.Array(SubjectSchema)), roleRef: Opt(RoleRefSchema) };
export const RoleBindingSchema = TopLevel(bindingProps, "RoleBinding references a role, but does not contain it. It adds who information via Subjects and namespace information by which namespace it exists in.");
export const ClusterRoleBindingSchema = TopLevel(bindingProps, "ClusterRoleBinding references a ClusterRole, but not contain it. It adds who information via Subjects.");

export type PolicyRule = Static<typeof PolicyRuleSchema>;
export type Subject = Static<typeof SubjectSchema>;
export type RoleRef = Static<typeof RoleRefSchema>;
export type Role = Static<typeof RoleSchema> & KubeObject;
export type ClusterRole = Static<typeof ClusterRoleSchema> & KubeObject;
export type RoleBinding = Static<typeof RoleBindingSchema> & KubeObject;
export type ClusterRoleBinding = RoleBinding;

/** Upstream's ValidateRBACName (path.IsValidPathSegmentName): any name that can be a path segment. */
export function rbacNameProblems(name: string): string[] {
  if (name === "." || name === "..") return [`may not be '${name}'`];
  const out: string[] = [];
  for (const c of ["/", "%"]) if (name.includes(c)) out.push(`may not contain '${c}'`);
  return out;
}

export function validatePolicyRule(rule: PolicyRule, namespaced: boolean, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!rule.verbs?.length) errs.push(fieldRequired(`${path}.verbs`, "verbs must contain at least one value"));
  if (rule.nonResourceURLs?.length) {
    if (namespaced) errs.push(fieldInvalid(`${path}.nonResourceURLs`, rule.nonResourceURLs, "namespaced rules cannot apply to non-resource URLs"));
    if (rule.apiGroups?.length || rule.resources?.length)
      errs.push(fieldInvalid(`${path}.nonResourceURLs`, rule.nonResourceURLs, "rules cannot apply to both regular resources and non-resource URLs"));
    return errs;
  }
  if (!rule.apiGroups?.length) errs.push(fieldRequired(`${path}.apiGroups`, "resource rules must supply at least one api group"));
  if (!rule.resources?.length) errs.push(fieldRequired(`${path}.resources`, "resource rules must supply at least one resource"));
  return errs;
}

const validateRules = (rules: PolicyRule[] | undefined, namespaced: boolean) => (rules ?? []).flatMap((r, i) => validatePolicyRule(r, namespaced, `rules[${i}]`));

function validateClusterRole(cr: ClusterRole): FieldError[] {
  const errs = validateRules(cr.rules, false);
  const agg = cr.aggregationRule;
  if (agg) {
    if (!agg.clusterRoleSelectors?.length)
      errs.push(fieldRequired("aggregationRule.clusterRoleSelectors", "at least one clusterRoleSelector required if aggregationRule is non-nil"));
    (agg.clusterRoleSelectors ?? []).forEach((s, i) => errs.push(...validateLabelSelector(s, `aggregationRule.clusterRoleSelectors[${i}]`)));
  }
  return errs;
}

/** Upstream's ValidateRoleBindingSubject. */
export function validateSubject(s: Subject, namespaced: boolean, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!s.name) errs.push(fieldRequired(`${path}.name`, ""));
  switch (s.kind) {
    case "ServiceAccount":
      if (s.name) for (const p of rbacNameProblems(s.name)) errs.push(fieldInvalid(`${path}.name`, s.name, p));
      if (s.apiGroup) errs.push(fieldNotSupported(`${path}.apiGroup`, s.apiGroup, [""]));
      if (!namespaced && !s.namespace) errs.push(fieldRequired(`${path}.namespace`, ""));
      break;
    case "User":
    case "Group":
      if (s.apiGroup !== RBAC_GROUP) errs.push(fieldNotSupported(`${path}.apiGroup`, s.apiGroup ?? "", [RBAC_GROUP]));
      break;
    default:
      errs.push(fieldNotSupported(`${path}.kind`, s.kind, ["ServiceAccount", "User", "Group"]));
  }
  return errs;
}

function validateBinding(b: RoleBinding, namespaced: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const ref = b.roleRef ?? { apiGroup: "", kind: "", name: "" };
  if (ref.apiGroup !== RBAC_GROUP) errs.push(fieldNotSupported("roleRef.apiGroup", ref.apiGroup, [RBAC_GROUP]));
  const kinds = namespaced ? ["Role", "ClusterRole"] : ["ClusterRole"];
  if (!kinds.includes(ref.kind)) errs.push(fieldNotSupported("roleRef.kind", ref.kind, kinds));
  if (!ref.name) errs.push(fieldRequired("roleRef.name", ""));
  else for (const p of rbacNameProblems(ref.name)) errs.push(fieldInvalid("roleRef.name", ref.name, p));
  (b.subjects ?? []).forEach((s, i) => errs.push(...validateSubject(s, namespaced, `subjects[${i}]`)));
  return errs;
}

/** Upstream's SetDefaults_Subject and the bindings' roleRef.apiGroup default. */
function defaultBinding(b: RoleBinding): void {
  if (b.roleRef && !b.roleRef.apiGroup) b.roleRef.apiGroup = RBAC_GROUP;
  for (const s of b.subjects ?? []) if (s.apiGroup === undefined || s.apiGroup === "") s.apiGroup = s.kind === "ServiceAccount" ? "" : s.kind === "User" || s.kind === "Group" ? RBAC_GROUP : s.apiGroup;
}

const roleRefImmutable = (b: RoleBinding, old: RoleBinding) => (jsonEqual(b.roleRef ?? null, old.roleRef ?? null) ? [] : [fieldInvalid("roleRef", b.roleRef, "cannot change roleRef")]);

const createdAt = (o: KubeObject) => (o.metadata.creationTimestamp ? new Date(o.metadata.creationTimestamp).toISOString().replace(/\.\d{3}Z$/, "Z") : "");
const roleTable = {
  columns: [nameColumn, column("Created At", "Time at which the object was created.", 0, "date")],
  row: (r: KubeObject) => [r.metadata.name, createdAt(r)],
};

/** Subjects of one kind, comma-separated (service accounts as namespace/name), as upstream's printer. */
const subjectsOf = (b: RoleBinding, kind: string) =>
  (b.subjects ?? [])
    .filter((s) => s.kind === kind)
    .map((s) => (kind === "ServiceAccount" ? `${s.namespace ?? ""}/${s.name}` : s.name))
    .join(", ");
const bindingTable = {
  columns: [
    nameColumn,
    column("Role", "Role references a role, but does not contain it. It adds who information via Subjects."),
    ageColumn,
    column("Users", "Users in the binding", 1),
    column("Groups", "Groups in the binding", 1),
    column("ServiceAccounts", "ServiceAccounts in the binding", 1),
  ],
  row: (b: RoleBinding, now: Date) => [
    b.metadata.name,
    b.roleRef ? `${b.roleRef.kind}/${b.roleRef.name}` : "",
    age(b.metadata.creationTimestamp, now),
    subjectsOf(b, "User"),
    subjectsOf(b, "Group"),
    subjectsOf(b, "ServiceAccount"),
  ],
};

export const roles: ResourceDef<Role> = {
  ...KINDS.roles,
  schema: RoleSchema,
  subresources: [],
  hasStatus: false,
  defaults() {},
  nameValidator: rbacNameProblems,
  validate: (r) => validateRules(r.rules, true),
  table: roleTable,
};

export const clusterRoles: ResourceDef<ClusterRole> = {
  ...KINDS.clusterRoles,
  schema: ClusterRoleSchema,
  subresources: [],
  hasStatus: false,
  defaults() {},
  nameValidator: rbacNameProblems,
  validate: validateClusterRole,
  table: roleTable,
};

export const roleBindings: ResourceDef<RoleBinding> = {
  ...KINDS.roleBindings,
  schema: RoleBindingSchema,
  subresources: [],
  hasStatus: false,
  defaults: defaultBinding,
  nameValidator: rbacNameProblems,
  validate: (b) => validateBinding(b, true),
  immutable: roleRefImmutable,
  table: bindingTable,
};

export const clusterRoleBindings: ResourceDef<ClusterRoleBinding> = {
  ...KINDS.clusterRoleBindings,
  schema: ClusterRoleBindingSchema,
  subresources: [],
  hasStatus: false,
  defaults: defaultBinding,
  nameValidator: rbacNameProblems,
  validate: (b) => validateBinding(b, false),
  immutable: roleRefImmutable,
  table: bindingTable,
};
