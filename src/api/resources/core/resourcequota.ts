// v1 ResourceQuota: hard limits on what a namespace may consume (compute requests and limits,
// object counts), enforced at admission and tallied in status by the resource-quota controller.
// Validation is upstream's ValidateResourceQuota: quota resource names, non-negative (integer
// where counted) values, scopes and scope selectors that apply to the limited resources.
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import { KINDS } from "../../kinds";
import type { KubeObject } from "../../meta";
import { parseQuantity, formatQuantity, validateQuantity } from "../../quantity";
import type { ResourceDef } from "../../resource";
import { Doc, Obj, Quantity, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldInvalid, fieldRequired, isQualifiedName } from "../../validation";

const Str = () => Type.String();
const Opt = Type.Optional;
const ResourceList = Type.Record(Str(), Quantity);

export const ScopedResourceSelectorRequirementSchema = Obj({
  scopeName: Str(),
  operator: Str(),
  values: Opt(Type.Array(Str())),
}, { title: "ScopedResourceSelectorRequirement" });

export const ResourceQuotaSpecSchema = Obj({
  hard: Opt(Doc(ResourceList, "The most the namespace may use, by resource name: pods, requests.cpu, limits.memory, count/<resource>, ...")),
  scopes: Opt(Type.Array(Str(), { description: "Filters on what the quota counts: Terminating, NotTerminating, BestEffort, NotBestEffort, PriorityClass, CrossNamespacePodAffinity." })),
  scopeSelector: Opt(Doc(Obj({ matchExpressions: Opt(Type.Array(ScopedResourceSelectorRequirementSchema)) }, { title: "ScopeSelector" }), "Scopes as expressions, e.g. PriorityClass In [high].")),
});

export const ResourceQuotaStatusSchema = Obj({ hard: Opt(ResourceList), used: Opt(ResourceList) });

export const ResourceQuotaSchema = TopLevel(
  { spec: Opt(ResourceQuotaSpecSchema), status: Opt(ResourceQuotaStatusSchema) },
  "ResourceQuota sets aggregate quota restrictions enforced per namespace",
);

export type ResourceQuota = Static<typeof ResourceQuotaSchema> & KubeObject;
export type ScopedResourceSelectorRequirement = Static<typeof ScopedResourceSelectorRequirementSchema>;

/** Resource names known to quota (upstream's standardQuotaResources), besides hugepages and count/<resource>. */
export const STANDARD_QUOTA_RESOURCES = new Set([
  "cpu", "memory", "ephemeral-storage",
  "requests.cpu", "requests.memory", "requests.storage", "requests.ephemeral-storage",
  "limits.cpu", "limits.memory", "limits.ephemeral-storage",
  "pods", "resourcequotas", "services", "replicationcontrollers", "secrets", "persistentvolumeclaims", "configmaps",
  "services.nodeports", "services.loadbalancers",
]);

/** Resource names whose values are counts (must be whole numbers). */
const INTEGER_RESOURCES = new Set(["pods", "resourcequotas", "services", "replicationcontrollers", "secrets", "configmaps", "persistentvolumeclaims", "services.nodeports", "services.loadbalancers"]);

/** Standard resource names outside quota's own (upstream's standardResources). */
const STANDARD_RESOURCES = new Set([...STANDARD_QUOTA_RESOURCES, "storage"]);

export const QUOTA_SCOPES = ["Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "PriorityClass", "CrossNamespacePodAffinity"];

const isHugePages = (name: string) => name.startsWith("hugepages-") || name.startsWith("requests.hugepages-");
const isStandardQuotaResource = (name: string) => STANDARD_QUOTA_RESOURCES.has(name) || isHugePages(name);
const isNative = (name: string) => !name.includes("/") || name.includes("kubernetes.io/");
/** An extended resource (example.com/gpu): counted, so its quota must be a whole number. */
const isExtended = (name: string) => !isNative(name) && !name.startsWith("requests.") && isQualifiedName(`requests.${name}`).length === 0;

/** Which resources a scope can restrict: pods, and for all but BestEffort their compute resources. */
const POD_COMPUTE = new Set(["cpu", "memory", "limits.cpu", "limits.memory", "requests.cpu", "requests.memory"]);
function scopeAppliesTo(scope: string, resource: string): boolean {
  switch (scope) {
    case "Terminating":
    case "NotTerminating":
    case "NotBestEffort":
    case "PriorityClass":
      return resource === "pods" || POD_COMPUTE.has(resource);
    case "BestEffort":
      return resource === "pods";
    default:
      return true;
  }
}

/** validateResourceName: qualified, and a standard resource when not prefixed. */
export function validateResourceName(name: string, path: string, standard: (n: string) => boolean = (n) => STANDARD_RESOURCES.has(n) || isHugePages(n)): FieldError[] {
  const errs = isQualifiedName(name).map((m) => fieldInvalid(path, name, m));
  if (errs.length) return errs;
  if (!name.includes("/") && !standard(name)) return [fieldInvalid(path, name, "must be a standard resource type or fully qualified")];
  return [];
}

function validateQuotaResourceName(name: string, path: string): FieldError[] {
  const errs = validateResourceName(name, path);
  if (!name.includes("/") && !isStandardQuotaResource(name)) errs.push(fieldInvalid(path, name, "must be a standard resource for quota"));
  return errs;
}

function validateQuotaValue(name: string, v: unknown, path: string): FieldError[] {
  const errs = validateQuantity(v, path);
  if (errs.length) return errs;
  const q = parseQuantity(v as string | number);
  if (q.nano < 0n) errs.push(fieldInvalid(path, formatQuantity(q), "must be greater than or equal to 0"));
  if ((INTEGER_RESOURCES.has(name) || isExtended(name)) && q.nano % 1_000_000_000n !== 0n) errs.push(fieldInvalid(path, v, "must be an integer"));
  return errs;
}

function validateResourceList(list: Record<string, unknown> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(list ?? {})) {
    errs.push(...validateQuotaResourceName(k, `${path}[${k}]`), ...validateQuotaValue(k, v, `${path}[${k}]`));
  }
  return errs;
}

const CONFLICTING = [["BestEffort", "NotBestEffort"], ["Terminating", "NotTerminating"]];
const conflicting = (scopes: Set<string>) => CONFLICTING.some(([a, b]) => scopes.has(a!) && scopes.has(b!));
const EXISTS_ONLY = new Set(["Terminating", "NotTerminating", "BestEffort", "NotBestEffort", "CrossNamespacePodAffinity"]);

function validateScopes(spec: NonNullable<ResourceQuota["spec"]>): FieldError[] {
  const errs: FieldError[] = [];
  const scopes = spec.scopes ?? [];
  if (!scopes.length) return errs;
  const hard = Object.keys(spec.hard ?? {}).sort();
  for (const scope of scopes) {
    if (!QUOTA_SCOPES.includes(scope)) errs.push(fieldInvalid("spec.scopes", scopes, "unsupported scope"));
    for (const k of hard) if (isStandardQuotaResource(k) && !scopeAppliesTo(scope, k)) errs.push(fieldInvalid("spec.scopes", scopes, "unsupported scope applied to resource"));
  }
  if (conflicting(new Set(scopes))) errs.push(fieldInvalid("spec.scopes", scopes, "conflicting scopes"));
  return errs;
}

function validateScopeSelector(spec: NonNullable<ResourceQuota["spec"]>): FieldError[] {
  const errs: FieldError[] = [];
  const sel = spec.scopeSelector;
  if (!sel) return errs;
  const path = "spec.scopeSelector.matchExpressions";
  const hard = Object.keys(spec.hard ?? {}).sort();
  const seen = new Set<string>();
  for (const req of sel.matchExpressions ?? []) {
    if (!QUOTA_SCOPES.includes(req.scopeName)) errs.push(fieldInvalid(`${path}.scopeName`, req.scopeName, "unsupported scope"));
    for (const k of hard) if (isStandardQuotaResource(k) && !scopeAppliesTo(req.scopeName, k)) errs.push(fieldInvalid(path, sel, "unsupported scope applied to resource"));
    if (EXISTS_ONLY.has(req.scopeName) && req.operator !== "Exists")
      errs.push(
        fieldInvalid(`${path}.operator`, req.operator, "must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity"),
      );
    switch (req.operator) {
      case "In":
      case "NotIn":
        if (!req.values?.length) errs.push(fieldRequired(`${path}.values`, "must be at least one value when `operator` is 'In' or 'NotIn' for scope selector"));
        break;
      case "Exists":
      case "DoesNotExist":
        if (req.values?.length) errs.push(fieldInvalid(`${path}.values`, req.values, "must be no value when `operator` is 'Exist' or 'DoesNotExist' for scope selector"));
        break;
      default:
        errs.push(fieldInvalid(`${path}.operator`, req.operator, "not a valid selector operator"));
    }
    seen.add(req.scopeName);
  }
  if (conflicting(seen)) errs.push(fieldInvalid(path, spec.scopes ?? null, "conflicting scopes"));
  return errs;
}

export function validateResourceQuota(rq: ResourceQuota): FieldError[] {
  const spec = rq.spec ?? {};
  return [
    ...validateResourceList(spec.hard, "spec.hard"),
    ...validateScopes(spec),
    ...validateScopeSelector(spec),
    ...validateResourceList(rq.status?.hard, "status.hard"),
    ...validateResourceList(rq.status?.used, "status.used"),
  ];
}

const quantityText = (v: string | number | undefined): string => {
  if (v === undefined) return "0";
  try {
    return formatQuantity(parseQuantity(v));
  } catch {
    return String(v);
  }
};

/** The REQUEST and LIMIT columns: `<resource>: <used>/<hard>`, limits.* in the second, sorted by name. */
export function quotaColumns(rq: ResourceQuota): [string, string] {
  const hard = rq.status?.hard ?? {};
  const used = rq.status?.used ?? {};
  const request: string[] = [];
  const limit: string[] = [];
  for (const name of Object.keys(hard).sort()) {
    const cell = `${name}: ${quantityText(used[name])}/${quantityText(hard[name])}`;
    (name.split(".")[0] === "limits" && name.includes(".") ? limit : request).push(cell);
  }
  return [request.join(", "), limit.join(", ")];
}

export const resourceQuotas: ResourceDef<ResourceQuota> = {
  ...KINDS.resourceQuotas,
  schema: ResourceQuotaSchema,
  subresources: ["status"],
  hasStatus: true,
  defaults() {},
  validate: validateResourceQuota,
  table: {
    columns: [
      nameColumn,
      ageColumn,
      column("Request", "Request represents a minimum amount of cpu/memory that a container may consume."),
      column("Limit", "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node."),
    ],
    row: (rq, now) => [rq.metadata.name, age(rq.metadata.creationTimestamp, now), ...quotaColumns(rq)],
  },
};
