import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { MergeList, Obj, Opaque, Quantity, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldDuplicate, fieldInvalid, fieldNotSupported, fieldRequired, isQualifiedName, isValidLabelValue } from "../../validation";
import { tryParseQuantity } from "../../quantity";
import { isCIDR } from "../../ip";
import { Conditions, Int32, Int64, jsonEqual, NullableTime, QUANTITY_MESSAGE } from "../common";

const Str = () => Type.String();
const Opt = Type.Optional;
const ResourceList = Type.Record(Str(), Quantity);

export const TaintSchema = Obj({ key: Str(), value: Opt(Str()), effect: Str(), timeAdded: Opt(NullableTime) });

export const NodeConditionSchema = Obj({
  type: Str(),
  status: Str(),
  lastHeartbeatTime: Opt(NullableTime),
  lastTransitionTime: Opt(NullableTime),
  reason: Opt(Str()),
  message: Opt(Str()),
});

export const NodeAddressSchema = Obj({ type: Str(), address: Str() });

export const NodeSystemInfoSchema = Obj({
  machineID: Opt(Str()),
  systemUUID: Opt(Str()),
  bootID: Opt(Str()),
  kernelVersion: Opt(Str()),
  osImage: Opt(Str()),
  containerRuntimeVersion: Opt(Str()),
  kubeletVersion: Opt(Str()),
  kubeProxyVersion: Opt(Str()),
  operatingSystem: Opt(Str()),
  architecture: Opt(Str()),
  swap: Opt(Obj({ capacity: Opt(Int64()) })),
});

export const NodeSpecSchema = Obj({
  podCIDR: Opt(Str()),
  podCIDRs: Opt(Type.Array(Str(), { "x-kubernetes-patch-strategy": "merge", "x-kubernetes-list-type": "set" })),
  providerID: Opt(Str()),
  unschedulable: Opt(Type.Boolean()),
  taints: Opt(Type.Array(TaintSchema)),
  configSource: Opt(Opaque("Deprecated: dynamic kubelet config source.")),
  externalID: Opt(Str()),
});

export const NodeStatusSchema = Obj({
  capacity: Opt(ResourceList),
  allocatable: Opt(ResourceList),
  phase: Opt(Str()),
  conditions: Opt(Conditions(NodeConditionSchema)),
  addresses: Opt(MergeList(NodeAddressSchema, "type")),
  daemonEndpoints: Opt(Obj({ kubeletEndpoint: Opt(Obj({ Port: Int32() })) })),
  nodeInfo: Opt(NodeSystemInfoSchema),
  images: Opt(Type.Array(Obj({ names: Opt(Type.Array(Str())), sizeBytes: Opt(Int64()) }))),
  volumesInUse: Opt(Type.Array(Str())),
  volumesAttached: Opt(Type.Array(Obj({ name: Str(), devicePath: Str() }))),
  config: Opt(Opaque("NodeConfigStatus")),
  runtimeHandlers: Opt(Type.Array(Opaque("NodeRuntimeHandler"))),
  features: Opt(Obj({ supplementalGroupsPolicy: Opt(Type.Boolean()) })),
  declaredFeatures: Opt(Type.Array(Str())),
});

export const NodeSchema = TopLevel(
  { spec: Opt(NodeSpecSchema), status: Opt(NodeStatusSchema) },
  "Node is a worker node in Kubernetes. Each node will have a unique identifier in the cache (i.e. in etcd).",
);

export type Taint = Static<typeof TaintSchema>;
export type NodeCondition = Static<typeof NodeConditionSchema>;
export type Node = Static<typeof NodeSchema> & KubeObject;

const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];
const ADDRESS_TYPES = ["Hostname", "InternalIP", "ExternalIP", "InternalDNS", "ExternalDNS"];

function validateNode(node: Node): FieldError[] {
  const errs: FieldError[] = [];
  const spec = node.spec ?? {};
  if (spec.podCIDR && !isCIDR(spec.podCIDR)) errs.push(fieldInvalid("spec.podCIDR", spec.podCIDR, "must be a valid CIDR"));
  (spec.podCIDRs ?? []).forEach((c, i) => {
    if (!isCIDR(c)) errs.push(fieldInvalid(`spec.podCIDRs[${i}]`, c, "must be a valid CIDR"));
  });
  if (spec.podCIDR && spec.podCIDRs?.length && spec.podCIDRs[0] !== spec.podCIDR)
    errs.push(fieldInvalid("spec.podCIDRs", spec.podCIDRs, "first value must match `podCIDR`"));
  const seen = new Set<string>();
  (spec.taints ?? []).forEach((t, i) => {
    const p = `spec.taints[${i}]`;
    if (!t.key) errs.push(fieldRequired(`${p}.key`));
    else errs.push(...isQualifiedName(t.key).map((m) => fieldInvalid(`${p}.key`, t.key, m)));
    if (t.value) errs.push(...isValidLabelValue(t.value).map((m) => fieldInvalid(`${p}.value`, t.value, m)));
    if (!t.effect) errs.push(fieldRequired(`${p}.effect`));
    else if (!TAINT_EFFECTS.includes(t.effect)) errs.push(fieldNotSupported(`${p}.effect`, t.effect, TAINT_EFFECTS));
    const key = `${t.key}:${t.effect}`;
    if (seen.has(key)) errs.push(fieldDuplicate(p, `${t.key}:${t.effect}`));
    seen.add(key);
  });
  (node.status?.addresses ?? []).forEach((a, i) => {
    if (!ADDRESS_TYPES.includes(a.type)) errs.push(fieldNotSupported(`status.addresses[${i}].type`, a.type, ADDRESS_TYPES));
  });
  for (const kind of ["capacity", "allocatable"] as const)
    for (const [name, q] of Object.entries(node.status?.[kind] ?? {}))
      if (tryParseQuantity(q) === undefined) errs.push(fieldInvalid(`status.${kind}[${name}]`, q, QUANTITY_MESSAGE));
  return errs;
}

/** podCIDR(s) may be set once (by the allocator) and never changed. */
function nodeImmutable(node: Node, old: Node): FieldError[] {
  const errs: FieldError[] = [];
  if (old.spec?.podCIDR && node.spec?.podCIDR !== old.spec.podCIDR)
    errs.push(fieldInvalid("spec.podCIDR", node.spec?.podCIDR ?? "", "field is immutable"));
  if (old.spec?.podCIDRs?.length && !jsonEqual(node.spec?.podCIDRs, old.spec.podCIDRs))
    errs.push(fieldInvalid("spec.podCIDRs", node.spec?.podCIDRs ?? [], "may not change once set"));
  if (old.spec?.providerID && node.spec?.providerID !== old.spec.providerID)
    errs.push(fieldInvalid("spec.providerID", node.spec?.providerID ?? "", "node updates may not change providerID except from \"\" to valid"));
  return errs;
}

/**
 * An agent re-reports an unchanged Node status every few minutes, moving only the conditions'
 * lastHeartbeatTime; the node lifecycle controller reads liveness from Leases (or its own clock),
 * so losing such a report in a crash changes nothing. Any real change (a condition, capacity,
 * addresses) is durable.
 */
function isNodeStatusReport(old: Node, next: Node, same: (a: Node, b: Node) => boolean): boolean {
  const times = (o: Node) => JSON.stringify(o.status?.conditions?.map((c) => c.lastHeartbeatTime));
  if (times(old) === times(next)) return false;
  // What remains with every condition's lastHeartbeatTime cleared is the node's actual state.
  const withoutHeartbeatTimes = (o: Node): Node => {
    const status = o.status ?? {};
    return { ...o, status: { ...status, conditions: status.conditions?.map((c) => ({ ...c, lastHeartbeatTime: undefined })) } };
  };
  return same(withoutHeartbeatTimes(old), withoutHeartbeatTimes(next));
}

/** printNode's STATUS: "Ready", "NotReady", "Unknown", plus ",SchedulingDisabled" when cordoned. */
export function nodeStatusString(node: Node): string {
  const status: string[] = [];
  const ready = (node.status?.conditions ?? []).find((c) => c.type === "Ready");
  if (ready) status.push(ready.status === "True" ? "Ready" : "NotReady");
  else status.push("Unknown");
  if (node.spec?.unschedulable) status.push("SchedulingDisabled");
  return status.join(",");
}

/** findNodeRoles: node-role.kubernetes.io/<role> labels and the legacy kubernetes.io/role. */
export function nodeRoles(node: Node): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith("node-role.kubernetes.io/")) {
      const role = k.slice("node-role.kubernetes.io/".length);
      if (role) roles.add(role);
    } else if (k === "kubernetes.io/role" && v) roles.add(v);
  }
  return roles.size ? [...roles].sort().join(",") : "<none>";
}

const address = (node: Node, type: string) => (node.status?.addresses ?? []).find((a) => a.type === type)?.address ?? "<none>";

export const nodes: ResourceDef<Node> = {
  ...KINDS.nodes,
  schema: NodeSchema,
  subresources: ["status", "proxy"],
  hasStatus: true,
  defaults(node) {
    node.spec ??= {};
    const st = node.status;
    if (st?.capacity && !st.allocatable) st.allocatable = { ...st.capacity };
    if (node.spec.podCIDR && !node.spec.podCIDRs?.length) node.spec.podCIDRs = [node.spec.podCIDR];
  },
  validate: validateNode,
  immutable: nodeImmutable,
  // A Node's status is its own agent's report, sent with the Node when it registers.
  keepsStatusOnCreate: true,
  isHeartbeat: isNodeStatusReport,
  table: {
    columns: [
      nameColumn,
      column("Status", "The status of the node"),
      column("Roles", "The roles of the node"),
      ageColumn,
      column("Version", "Kubelet Version reported by the node."),
      column("Internal-IP", "List of addresses reachable to the node.", 1),
      column("External-IP", "List of addresses reachable to the node.", 1),
      column("OS-Image", "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).", 1),
      column("Kernel-Version", "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).", 1),
      column("Container-Runtime", "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).", 1),
    ],
    row(node, now) {
      const info = node.status?.nodeInfo;
      return [
        node.metadata.name,
        nodeStatusString(node),
        nodeRoles(node),
        age(node.metadata.creationTimestamp, now),
        info?.kubeletVersion ?? "",
        address(node, "InternalIP"),
        address(node, "ExternalIP"),
        info?.osImage || "<unknown>",
        info?.kernelVersion || "<unknown>",
        info?.containerRuntimeVersion || "<unknown>",
      ];
    },
  },
  fieldSelectors: {
    "spec.unschedulable": (n) => String(!!n.spec?.unschedulable),
  },
};
