// Every resource bramble serves, in one list: the definition of each row of the kind table
// (kinds.ts). The API server builds its routes, discovery and OpenAPI from this; nothing else
// registers resources at runtime.
import { KINDS, protobufPackageOf, type KindName } from "./kinds";
import { apiVersionOf, type ResourceDef } from "./resource";
import "./resources/formats";
import { configMaps } from "./resources/core/configmap";
import { controllerRevisions } from "./resources/apps/controllerrevision";
import { daemonSets } from "./resources/apps/daemonset";
import { deployments } from "./resources/apps/deployment";
import { endpoints } from "./resources/core/endpoints";
import { endpointSlices } from "./resources/discovery/endpointslice";
import { events } from "./resources/core/event";
import { horizontalPodAutoscalers } from "./resources/autoscaling/horizontalpodautoscaler";
import { ingressClasses } from "./resources/networking/ingressclass";
import { ingresses } from "./resources/networking/ingress";
import { networkPolicies } from "./resources/networking/networkpolicy";
import { mutatingWebhookConfigurations, validatingWebhookConfigurations } from "./resources/admissionregistration/webhooks";
import { cronJobs } from "./resources/batch/cronjob";
import { jobs } from "./resources/batch/job";
import { leases } from "./resources/coordination/lease";
import { limitRanges } from "./resources/core/limitrange";
import { namespaces } from "./resources/core/namespace";
import { nodes } from "./resources/core/node";
import { persistentVolumeClaims } from "./resources/core/persistentvolumeclaim";
import { persistentVolumes } from "./resources/core/persistentvolume";
import { pods } from "./resources/core/pod";
import { priorityClasses } from "./resources/scheduling/priorityclass";
import { podDisruptionBudgets } from "./resources/policy/poddisruptionbudget";
import { clusterRoleBindings, clusterRoles, roleBindings, roles } from "./resources/rbac/rbac";
import { replicaSets } from "./resources/apps/replicaset";
import { resourceQuotas } from "./resources/core/resourcequota";
import { replicationControllers } from "./resources/core/replicationcontroller";
import { secrets } from "./resources/core/secret";
import { serviceAccounts } from "./resources/core/serviceaccount";
import { services } from "./resources/core/service";
import { statefulSets } from "./resources/apps/statefulset";
import { storageClasses } from "./resources/storage/storageclass";
import { customResourceDefinitions } from "./resources/apiextensions/customresourcedefinition";

// One definition per row of the kind table, in its order: a row without a definition (or a
// definition without a row) does not compile.
const DEFINITIONS: { [K in KindName]: ResourceDef<any> } = {
  namespaces,
  nodes,
  pods,
  services,
  replicationControllers,
  endpoints,
  configMaps,
  secrets,
  serviceAccounts,
  events,
  resourceQuotas,
  limitRanges,
  persistentVolumes,
  persistentVolumeClaims,
  deployments,
  replicaSets,
  daemonSets,
  statefulSets,
  controllerRevisions,
  horizontalPodAutoscalers,
  jobs,
  cronJobs,
  leases,
  priorityClasses,
  podDisruptionBudgets,
  endpointSlices,
  clusterRoleBindings,
  clusterRoles,
  roleBindings,
  roles,
  storageClasses,
  ingresses,
  ingressClasses,
  networkPolicies,
  mutatingWebhookConfigurations,
  validatingWebhookConfigurations,
  customResourceDefinitions,
};

// Each definition is typed for its own object; the list holds them as plain ResourceDefs.
export const resources: ResourceDef[] = (Object.keys(KINDS) as KindName[]).map((k) => DEFINITIONS[k] as ResourceDef);

/**
 * A definition and one derived definition per other version it is served in: the same kind with
 * that version's schema, marked with the stored definition and the conversion (`servedAs`).
 */
export function versionsOf(def: ResourceDef): ResourceDef[] {
  const views = (def.versions ?? []).map(
    (v): ResourceDef => ({ ...def, version: v.version, schema: v.schema, protobufPackage: v.protobufPackage ?? protobufPackageOf(def.group), versions: undefined, servedAs: { stored: def, toStored: v.toStored, fromStored: v.fromStored } }),
  );
  return [def, ...views];
}

/** Every resource in every version it is served in (the stored version first): routes, discovery, OpenAPI. */
export const servedResources = (defs: ResourceDef[]): ResourceDef[] => defs.flatMap(versionsOf);

const byPath = new Map(servedResources(resources).map((r) => [`${r.group}/${r.version}/${r.plural}`, r]));

/** The resource served at /api/v1/<plural> (group "") or /apis/<group>/<version>/<plural>. */
export function findResource(group: string, version: string, plural: string): ResourceDef | undefined {
  return byPath.get(`${group}/${version}/${plural}`);
}

/** Lookup by kind, as in an object's apiVersion + kind (kubectl apply, ownerReferences). */
export function findResourceByKind(apiVersion: string, kind: string): ResourceDef | undefined {
  return resources.find((r) => apiVersionOf(r) === apiVersion && r.kind === kind);
}

/** Lookup by any name kubectl may use: plural, singular, short name or kind (case-insensitive). */
export function findResourceByName(name: string): ResourceDef | undefined {
  const n = name.toLowerCase();
  return resources.find((r) => r.plural === n || r.singular === n || r.shortNames.includes(n) || r.kind.toLowerCase() === n);
}

/** The group/versions served, in discovery order ("" first). */
export function groupVersions(): { group: string; version: string }[] {
  const seen = new Map<string, { group: string; version: string }>();
  for (const r of resources) seen.set(`${r.group}/${r.version}`, { group: r.group, version: r.version });
  return [...seen.values()];
}
