// Pure: the EndpointSlices that mirror a user-managed Endpoints object (upstream's
// EndpointSliceMirroring reconciler): one slice per subset port set and address family, at most
// 1000 addresses each, ready addresses with ready=true and the others ready=false, owned by the
// Endpoints. An existing slice of the same port set and family is rewritten only when its
// endpoints, labels or annotations differ.
import type { Endpoints, EndpointAddress } from "../../../api/resources/core/endpoints";
import type { EndpointSlice, EndpointSlicePort, SliceEndpoint } from "../../../api/resources/discovery/endpointslice";
import { ENDPOINTSLICE_MIRRORING_CONTROLLER, LABEL_MANAGED_BY, LABEL_SERVICE_NAME } from "../../../api/resources/discovery/labels";
import { isIPv4, isIPv6 } from "../../../api/ip";
import { jsonEqual } from "../../../api/resources/common";
import { endpointKey, portsKey } from "../endpointslice/desired";
import type { SlicePlan } from "../endpointslice/plan";

/** upstream's --mirroring-max-endpoints-per-subset default. */
export const MAX_MIRRORED_PER_SUBSET = 1000;

const SKIPPED_ANNOTATIONS = new Set(["endpoints.kubernetes.io/last-change-trigger-time", "kubectl.kubernetes.io/last-applied-configuration"]);

interface Group {
  addressType: "IPv4" | "IPv6";
  ports: EndpointSlicePort[];
  endpoints: Map<string, SliceEndpoint>;
}

export interface Mirrored {
  groups: Map<string, Group>;
  invalid: number;
  /** Addresses beyond the per-subset limit (not counting invalid ones). */
  skipped: number;
}

function toEndpoint(a: EndpointAddress, ready: boolean): SliceEndpoint {
  return {
    addresses: [a.ip],
    conditions: { ready },
    ...(a.hostname && { hostname: a.hostname }),
    ...(a.targetRef && { targetRef: a.targetRef }),
    ...(a.nodeName && { nodeName: a.nodeName }),
  };
}

export function mirroredEndpoints(ep: Endpoints, maxPerSubset = MAX_MIRRORED_PER_SUBSET): Mirrored {
  const groups = new Map<string, Group>();
  let invalid = 0;
  let skipped = 0;
  for (const subset of ep.subsets ?? []) {
    const ports: EndpointSlicePort[] = (subset.ports ?? []).map((p) => ({
      name: p.name ?? "",
      port: p.port,
      protocol: p.protocol ?? "TCP",
      ...(p.appProtocol !== undefined && { appProtocol: p.appProtocol }),
    }));
    const groupOf = (addressType: Group["addressType"]) => {
      const key = `${addressType}${portsKey(ports)}`;
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { addressType, ports, endpoints: new Map() }));
      return g;
    };
    // Every subset's port set has its group in both families, so a family emptied deletes its slices.
    groupOf("IPv4");
    groupOf("IPv6");
    const all: [EndpointAddress, boolean][] = [...(subset.addresses ?? []).map((a): [EndpointAddress, boolean] => [a, true]), ...(subset.notReadyAddresses ?? []).map((a): [EndpointAddress, boolean] => [a, false])];
    let added = 0;
    for (const [a, ready] of all) {
      if (added >= maxPerSubset) break;
      const type = isIPv4(a.ip) ? "IPv4" : isIPv6(a.ip) ? "IPv6" : undefined;
      if (!type) {
        invalid++;
        continue;
      }
      const e = toEndpoint(a, ready);
      groupOf(type).endpoints.set(endpointKey(e), e);
      added++;
    }
    skipped += all.length - added;
  }
  return { groups, invalid, skipped: skipped - invalid };
}

/** The slice's labels: the Endpoints' own, with the service name and the mirroring controller. */
function labelsOf(ep: Endpoints): Record<string, string> {
  return { ...ep.metadata.labels, [LABEL_SERVICE_NAME]: ep.metadata.name!, [LABEL_MANAGED_BY]: ENDPOINTSLICE_MIRRORING_CONTROLLER };
}

function annotationsOf(ep: Endpoints): Record<string, string> {
  return Object.fromEntries(Object.entries(ep.metadata.annotations ?? {}).filter(([k]) => !SKIPPED_ANNOTATIONS.has(k)));
}

function newSlice(ep: Endpoints, g: Group, existing?: EndpointSlice): EndpointSlice {
  const annotations = annotationsOf(ep);
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      ...(existing ? { ...existing.metadata } : { generateName: `${ep.metadata.name}-`, namespace: ep.metadata.namespace }),
      labels: labelsOf(ep),
      annotations,
      ownerReferences: [{ apiVersion: "v1", kind: "Endpoints", name: ep.metadata.name!, uid: ep.metadata.uid!, controller: true, blockOwnerDeletion: true }],
    },
    addressType: g.addressType,
    endpoints: [...g.endpoints.values()],
    ports: g.ports,
  };
}

const sorted = (m: Record<string, string> | undefined) => Object.fromEntries(Object.entries(m ?? {}).sort());

function sameEndpoints(slice: EndpointSlice, want: Map<string, SliceEndpoint>): boolean {
  const have = slice.endpoints ?? [];
  if (have.length !== want.size) return false;
  for (const e of have) {
    const w = want.get(endpointKey(e));
    if (!w || !jsonEqual(w.conditions ?? {}, e.conditions ?? {}) || (w.nodeName ?? "") !== (e.nodeName ?? "") || !jsonEqual(w.targetRef ?? null, e.targetRef ?? null)) return false;
  }
  return true;
}

/** The writes that make `existing` (the mirroring controller's slices for this Endpoints) mirror it. */
export function planMirror(ep: Endpoints, groups: Mirrored["groups"], existing: EndpointSlice[]): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], delete: [] };
  const byKey = new Map<string, EndpointSlice[]>();
  for (const s of existing) {
    const k = `${s.addressType}${portsKey(s.ports)}`;
    byKey.set(k, [...(byKey.get(k) ?? []), s]);
  }
  const labels = labelsOf(ep);
  const annotations = annotationsOf(ep);
  for (const [k, g] of groups) {
    const have = byKey.get(k) ?? [];
    if (g.endpoints.size === 0) {
      plan.delete.push(...have);
      continue;
    }
    const [first, ...rest] = have;
    plan.delete.push(...rest);
    if (!first) plan.create.push(newSlice(ep, g));
    else if (!sameEndpoints(first, g.endpoints) || !jsonEqual(sorted(first.metadata.labels), sorted(labels)) || !jsonEqual(sorted(first.metadata.annotations), sorted(annotations)))
      plan.update.push(newSlice(ep, g, first));
  }
  for (const [k, have] of byKey) if (!groups.has(k)) plan.delete.push(...have);
  // Recycle slices that would go for ones that would be made, within one address family.
  for (let i = 0; i < plan.create.length; ) {
    const made = plan.create[i]!;
    const j = plan.delete.findIndex((d) => d.addressType === made.addressType);
    if (j < 0) {
      i++;
      continue;
    }
    const gone = plan.delete.splice(j, 1)[0]!;
    plan.create.splice(i, 1);
    plan.update.push({ ...made, metadata: { ...made.metadata, name: gone.metadata.name, resourceVersion: gone.metadata.resourceVersion, uid: gone.metadata.uid, generateName: gone.metadata.generateName } });
  }
  return plan;
}
