// The identity of every kind bramble serves, once: where it lives in the API (group, version,
// plural, scope), the names kubectl accepts for it (short names, categories such as `all`) and
// its protobuf package. Every list that names kinds derives from this table: the resource
// definitions (src/api/resources) spread their row, discovery reads categories from it, the
// client's refs and the protobuf decoder's kinds are built from it. No schema code here: agents
// read this table, and a value import of a TypeBox schema would cost them ~10 MB of RSS.

export interface KindIdentity {
  /** "" for the core group. */
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  /** Groupings kubectl expands, e.g. `kubectl get all`. */
  categories: string[];
  /** The package of its message in upstream's generated.proto files ("core", "apps", ...). */
  protobufPackage: string;
}

/** Upstream's Go package for a group: "" → core, "apps" → apps, "coordination.k8s.io" → coordination. */
export const protobufPackageOf = (group: string) => (group ? group.replace(/\.k8s\.io$/, "").split(".")[0]! : "core");

type Row = Pick<KindIdentity, "group" | "version" | "kind" | "plural" | "namespaced"> & Partial<KindIdentity>;

/** A row with upstream's defaults: listKind <Kind>List, singular the lower-cased kind, no short names. */
const row = (r: Row): KindIdentity => ({
  listKind: `${r.kind}List`,
  singular: r.kind.toLowerCase(),
  shortNames: [],
  categories: [],
  protobufPackage: protobufPackageOf(r.group),
  ...r,
});

/** Every kind bramble serves, in discovery order. */
export const KINDS = {
  namespaces: row({ group: "", version: "v1", kind: "Namespace", plural: "namespaces", namespaced: false, shortNames: ["ns"] }),
  nodes: row({ group: "", version: "v1", kind: "Node", plural: "nodes", namespaced: false, shortNames: ["no"] }),
  pods: row({ group: "", version: "v1", kind: "Pod", plural: "pods", namespaced: true, shortNames: ["po"], categories: ["all"] }),
  services: row({ group: "", version: "v1", kind: "Service", plural: "services", namespaced: true, shortNames: ["svc"], categories: ["all"] }),
  replicationControllers: row({ group: "", version: "v1", kind: "ReplicationController", plural: "replicationcontrollers", namespaced: true, shortNames: ["rc"], categories: ["all"] }),
  endpoints: row({ group: "", version: "v1", kind: "Endpoints", plural: "endpoints", singular: "endpoints", namespaced: true, shortNames: ["ep"] }),
  configMaps: row({ group: "", version: "v1", kind: "ConfigMap", plural: "configmaps", namespaced: true, shortNames: ["cm"] }),
  secrets: row({ group: "", version: "v1", kind: "Secret", plural: "secrets", namespaced: true }),
  serviceAccounts: row({ group: "", version: "v1", kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true, shortNames: ["sa"] }),
  events: row({ group: "", version: "v1", kind: "Event", plural: "events", namespaced: true, shortNames: ["ev"] }),
  resourceQuotas: row({ group: "", version: "v1", kind: "ResourceQuota", plural: "resourcequotas", namespaced: true, shortNames: ["quota"] }),
  limitRanges: row({ group: "", version: "v1", kind: "LimitRange", plural: "limitranges", namespaced: true, shortNames: ["limits"] }),
  persistentVolumes: row({ group: "", version: "v1", kind: "PersistentVolume", plural: "persistentvolumes", namespaced: false, shortNames: ["pv"] }),
  persistentVolumeClaims: row({ group: "", version: "v1", kind: "PersistentVolumeClaim", plural: "persistentvolumeclaims", namespaced: true, shortNames: ["pvc"] }),
  deployments: row({ group: "apps", version: "v1", kind: "Deployment", plural: "deployments", namespaced: true, shortNames: ["deploy"], categories: ["all"] }),
  replicaSets: row({ group: "apps", version: "v1", kind: "ReplicaSet", plural: "replicasets", namespaced: true, shortNames: ["rs"], categories: ["all"] }),
  daemonSets: row({ group: "apps", version: "v1", kind: "DaemonSet", plural: "daemonsets", namespaced: true, shortNames: ["ds"], categories: ["all"] }),
  statefulSets: row({ group: "apps", version: "v1", kind: "StatefulSet", plural: "statefulsets", namespaced: true, shortNames: ["sts"], categories: ["all"] }),
  controllerRevisions: row({ group: "apps", version: "v1", kind: "ControllerRevision", plural: "controllerrevisions", namespaced: true }),
  horizontalPodAutoscalers: row({ group: "autoscaling", version: "v2", kind: "HorizontalPodAutoscaler", plural: "horizontalpodautoscalers", namespaced: true, shortNames: ["hpa"], categories: ["all"], protobufPackage: "autoscalingv2" }),
  jobs: row({ group: "batch", version: "v1", kind: "Job", plural: "jobs", namespaced: true, categories: ["all"] }),
  cronJobs: row({ group: "batch", version: "v1", kind: "CronJob", plural: "cronjobs", namespaced: true, shortNames: ["cj"], categories: ["all"] }),
  leases: row({ group: "coordination.k8s.io", version: "v1", kind: "Lease", plural: "leases", namespaced: true }),
  priorityClasses: row({ group: "scheduling.k8s.io", version: "v1", kind: "PriorityClass", plural: "priorityclasses", namespaced: false, shortNames: ["pc"] }),
  podDisruptionBudgets: row({ group: "policy", version: "v1", kind: "PodDisruptionBudget", plural: "poddisruptionbudgets", namespaced: true, shortNames: ["pdb"] }),
  endpointSlices: row({ group: "discovery.k8s.io", version: "v1", kind: "EndpointSlice", plural: "endpointslices", namespaced: true }),
  clusterRoleBindings: row({ group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRoleBinding", plural: "clusterrolebindings", namespaced: false }),
  clusterRoles: row({ group: "rbac.authorization.k8s.io", version: "v1", kind: "ClusterRole", plural: "clusterroles", namespaced: false }),
  roleBindings: row({ group: "rbac.authorization.k8s.io", version: "v1", kind: "RoleBinding", plural: "rolebindings", namespaced: true }),
  roles: row({ group: "rbac.authorization.k8s.io", version: "v1", kind: "Role", plural: "roles", namespaced: true }),
  storageClasses: row({ group: "storage.k8s.io", version: "v1", kind: "StorageClass", plural: "storageclasses", namespaced: false, shortNames: ["sc"] }),
  ingresses: row({ group: "networking.k8s.io", version: "v1", kind: "Ingress", plural: "ingresses", namespaced: true, shortNames: ["ing"] }),
  ingressClasses: row({ group: "networking.k8s.io", version: "v1", kind: "IngressClass", plural: "ingressclasses", namespaced: false }),
  networkPolicies: row({ group: "networking.k8s.io", version: "v1", kind: "NetworkPolicy", plural: "networkpolicies", namespaced: true, shortNames: ["netpol"] }),
  mutatingWebhookConfigurations: row({ group: "admissionregistration.k8s.io", version: "v1", kind: "MutatingWebhookConfiguration", plural: "mutatingwebhookconfigurations", namespaced: false, categories: ["api-extensions"] }),
  validatingWebhookConfigurations: row({ group: "admissionregistration.k8s.io", version: "v1", kind: "ValidatingWebhookConfiguration", plural: "validatingwebhookconfigurations", namespaced: false, categories: ["api-extensions"] }),
  customResourceDefinitions: row({ group: "apiextensions.k8s.io", version: "v1", kind: "CustomResourceDefinition", plural: "customresourcedefinitions", namespaced: false, shortNames: ["crd", "crds"] }),
} satisfies Record<string, KindIdentity>;

export type KindName = keyof typeof KINDS;

/**
 * Kinds that travel only as the bodies of subresources (never stored), by subresource: their
 * identity for discovery (pods/eviction is a policy/v1 Eviction) and for protobuf decoding.
 */
export const SUBRESOURCE_KINDS = {
  binding: { group: "", version: "v1", kind: "Binding", plural: "bindings", protobufPackage: "core" },
  eviction: { group: "policy", version: "v1", kind: "Eviction", plural: "evictions", protobufPackage: "policy" },
  scale: { group: "autoscaling", version: "v1", kind: "Scale", plural: "scales", protobufPackage: "autoscaling" },
  token: { group: "authentication.k8s.io", version: "v1", kind: "TokenRequest", plural: "tokenrequests", protobufPackage: "authentication" },
} satisfies Record<string, Pick<KindIdentity, "group" | "version" | "kind" | "plural" | "protobufPackage">>;

/**
 * Kinds that are only ever created, answered and never stored (upstream's review APIs): served
 * at their own paths with the verb `create` alone; not in the registry, so no controller lists them.
 */
export const REVIEW_KINDS = {
  selfSubjectAccessReviews: row({ group: "authorization.k8s.io", version: "v1", kind: "SelfSubjectAccessReview", plural: "selfsubjectaccessreviews", namespaced: false }),
  selfSubjectRulesReviews: row({ group: "authorization.k8s.io", version: "v1", kind: "SelfSubjectRulesReview", plural: "selfsubjectrulesreviews", namespaced: false }),
  subjectAccessReviews: row({ group: "authorization.k8s.io", version: "v1", kind: "SubjectAccessReview", plural: "subjectaccessreviews", namespaced: false }),
  localSubjectAccessReviews: row({ group: "authorization.k8s.io", version: "v1", kind: "LocalSubjectAccessReview", plural: "localsubjectaccessreviews", namespaced: true }),
  selfSubjectReviews: row({ group: "authentication.k8s.io", version: "v1", kind: "SelfSubjectReview", plural: "selfsubjectreviews", namespaced: false }),
  tokenReviews: row({ group: "authentication.k8s.io", version: "v1", kind: "TokenReview", plural: "tokenreviews", namespaced: false }),
};

/** "v1" for the core group, "<group>/<version>" otherwise. */
export const apiVersionOf = (r: Pick<KindIdentity, "group" | "version">) => (r.group ? `${r.group}/${r.version}` : r.version);

/** Whether two things name the same resource (group and plural), e.g. a request's target and a row of KINDS. */
export const sameResource = (a: Pick<KindIdentity, "group" | "plural">, b: Pick<KindIdentity, "group" | "plural">) =>
  a.group === b.group && a.plural === b.plural;

/**
 * Read-only kinds computed on request and never stored: metrics.k8s.io, which bramble serves
 * itself from the agents' usage readings (upstream needs metrics-server behind an APIService).
 * Discovery lists them with get and list only.
 */
export const VIRTUAL_KINDS = {
  nodeMetrics: row({ group: "metrics.k8s.io", version: "v1beta1", kind: "NodeMetrics", plural: "nodes", singular: "", namespaced: false }),
  podMetrics: row({ group: "metrics.k8s.io", version: "v1beta1", kind: "PodMetrics", plural: "pods", singular: "", namespaced: true }),
} satisfies Record<string, KindIdentity>;
