// Pure: the creates, updates and deletes that bring a Service's EndpointSlices of one address
// type to the desired endpoints, with as little churn as upstream's reconciler: endpoints stay in
// the slice they are in (changed in place when their conditions change), slices that changed
// anyway are filled up first, leftovers go into the unchanged slice closest to full, and only
// then into new slices. With no endpoints at all, one empty placeholder slice remains.
import type { EndpointSlice, SliceEndpoint } from "../../../api/resources/discovery/endpointslice";
import { ENDPOINTSLICE_CONTROLLER, LABEL_HEADLESS, LABEL_MANAGED_BY, LABEL_SERVICE_NAME } from "../../../api/resources/discovery/labels";
import type { Service } from "../../../api/resources/core/service";
import { jsonEqual } from "../../../api/resources/common";
import { endpointKey, portsKey, type AddressType, type DesiredGroup } from "./desired";

/** upstream's --max-endpoints-per-slice default. */
export const MAX_ENDPOINTS_PER_SLICE = 100;

export interface SlicePlan {
  create: EndpointSlice[];
  update: EndpointSlice[];
  delete: EndpointSlice[];
}

const RESERVED = new Set([LABEL_SERVICE_NAME, LABEL_MANAGED_BY, LABEL_HEADLESS]);

/** The slice's labels: the Service's (but the reserved ones), headless, service name and manager. */
export function sliceLabels(svc: Service, managedBy = ENDPOINTSLICE_CONTROLLER): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata.labels ?? {})) if (!RESERVED.has(k)) labels[k] = v;
  const ip = svc.spec?.clusterIP;
  if (!ip || ip === "None") labels[LABEL_HEADLESS] = "";
  labels[LABEL_SERVICE_NAME] = svc.metadata.name!;
  labels[LABEL_MANAGED_BY] = managedBy;
  return labels;
}

/** Whether a slice belongs to this Service object (not to an older Service of the same name). */
export const ownedBy = (slice: EndpointSlice, svc: Service) =>
  (slice.metadata.ownerReferences ?? []).some((r) => r.uid === svc.metadata.uid && r.kind === "Service" && r.apiVersion === "v1");

export function newSlice(svc: Service, ports: DesiredGroup["ports"], addressType: AddressType): EndpointSlice {
  const name = svc.metadata.name!;
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      generateName: `${name}-`,
      namespace: svc.metadata.namespace,
      labels: sliceLabels(svc),
      ownerReferences: [{ apiVersion: "v1", kind: "Service", name, uid: svc.metadata.uid!, controller: true, blockOwnerDeletion: true }],
    },
    addressType,
    endpoints: [],
    ports,
  };
}

const clone = (s: EndpointSlice): EndpointSlice => structuredClone(s);

/** upstream's EndpointsEqualBeyondHash: what may change in place in an endpoint already there. */
function endpointsEqual(a: SliceEndpoint, b: SliceEndpoint): boolean {
  return (
    jsonEqual(a.conditions ?? {}, b.conditions ?? {}) &&
    (a.nodeName ?? "") === (b.nodeName ?? "") &&
    (a.zone ?? "") === (b.zone ?? "") &&
    jsonEqual(a.hints ?? null, b.hints ?? null) &&
    jsonEqual(a.targetRef ?? null, b.targetRef ?? null)
  );
}

function labelsEqual(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  return jsonEqual(Object.fromEntries(Object.entries(a ?? {}).sort()), Object.fromEntries(Object.entries(b).sort()));
}

/** Plans one port set's slices (upstream's reconcileByPortMapping). */
function planPortSet(svc: Service, existing: EndpointSlice[], desired: Map<string, SliceEndpoint>, ports: DesiredGroup["ports"], addressType: AddressType, max: number): SlicePlan {
  const labels = sliceLabels(svc);
  const want = new Map(desired);
  const byName = new Map<string, EndpointSlice>();
  const unchanged: string[] = [];
  const toUpdate = new Set<string>();
  const toDelete = new Set<string>();

  // 1. Keep the endpoints still wanted where they are; drop the rest.
  for (const slice of existing) {
    const name = slice.metadata.name!;
    byName.set(name, slice);
    const kept: SliceEndpoint[] = [];
    let changed = false;
    for (const ep of slice.endpoints ?? []) {
      const k = endpointKey(ep);
      const got = want.get(k);
      if (!got) continue;
      kept.push(got);
      if (!endpointsEqual(got, ep)) changed = true;
      want.delete(k);
    }
    const labelsChanged = !labelsEqual(slice.metadata.labels, labels);
    if (changed || kept.length !== (slice.endpoints ?? []).length) {
      if (kept.length === 0) toDelete.add(name);
      else {
        const next = clone(slice);
        next.endpoints = kept;
        next.metadata.labels = labels;
        byName.set(name, next);
        toUpdate.add(name);
      }
    } else if (labelsChanged) {
      const next = clone(slice);
      next.metadata.labels = labels;
      byName.set(name, next);
      toUpdate.add(name);
    } else unchanged.push(name);
  }

  const take = (slice: EndpointSlice) => {
    const eps = (slice.endpoints ??= []);
    for (const [k, ep] of want) {
      if (eps.length >= max) break;
      eps.push(ep);
      want.delete(k);
    }
  };

  // 2. Slices being written anyway take new endpoints first, fullest first.
  if (want.size > 0)
    for (const name of [...toUpdate].sort((a, b) => (byName.get(b)!.endpoints?.length ?? 0) - (byName.get(a)!.endpoints?.length ?? 0))) take(byName.get(name)!);

  // 3. What is left: the unchanged slice it fills closest to full, else new slices.
  const create: EndpointSlice[] = [];
  while (want.size > 0) {
    let fill: EndpointSlice | undefined;
    if (want.size < max) {
      let best = max;
      for (const name of unchanged) {
        const diff = max - (want.size + (byName.get(name)!.endpoints?.length ?? 0));
        if (diff >= 0 && diff < best) {
          best = diff;
          fill = byName.get(name);
        }
      }
    }
    if (fill) {
      const name = fill.metadata.name!;
      fill = clone(fill);
      byName.set(name, fill);
      take(fill);
      toUpdate.add(name);
      unchanged.splice(unchanged.indexOf(name), 1);
    } else {
      const s = newSlice(svc, ports, addressType);
      take(s);
      create.push(s);
    }
  }
  return { create, update: [...toUpdate].map((n) => byName.get(n)!), delete: [...toDelete].map((n) => byName.get(n)!) };
}

/** The whole plan for one address type (upstream's reconcileByAddressType and finalize). */
export function planSlices(svc: Service, groups: Map<string, DesiredGroup>, existing: EndpointSlice[], addressType: AddressType, max = MAX_ENDPOINTS_PER_SLICE): SlicePlan {
  const plan: SlicePlan = { create: [], update: [], delete: [] };
  const byPorts = new Map<string, EndpointSlice[]>();
  for (const slice of existing) {
    if (!ownedBy(slice, svc)) plan.delete.push(slice);
    else {
      const k = portsKey(slice.ports);
      byPorts.set(k, [...(byPorts.get(k) ?? []), slice]);
    }
  }
  for (const [k, g] of groups) {
    const p = planPortSet(svc, byPorts.get(k) ?? [], g.endpoints, g.ports, addressType, max);
    plan.create.push(...p.create);
    plan.update.push(...p.update);
    plan.delete.push(...p.delete);
  }
  for (const [k, slices] of byPorts) if (!groups.has(k)) plan.delete.push(...slices);

  // Nothing would remain: keep (or make) one empty placeholder slice, without ports.
  if (existing.length === plan.delete.length && plan.create.length === 0) {
    const placeholder = newSlice(svc, [], addressType);
    const only = plan.delete.length === 1 ? plan.delete[0]! : undefined;
    const isPlaceholder =
      only && ownedBy(only, svc) && !(only.endpoints ?? []).length && !(only.ports ?? []).length && labelsEqual(only.metadata.labels, placeholder.metadata.labels!);
    if (isPlaceholder) plan.delete = [];
    else plan.create.push(placeholder);
  }

  // A create and a delete together are one update of the slice that would go: fewer writes,
  // and consumers never see the Service without its endpoints in between.
  while (plan.create.length && plan.delete.some((d) => ownedBy(d, svc) && d.addressType === addressType)) {
    const i = plan.delete.findIndex((d) => ownedBy(d, svc) && d.addressType === addressType);
    const gone = plan.delete.splice(i, 1)[0]!;
    const made = plan.create.pop()!;
    plan.update.push({ ...made, metadata: { ...gone.metadata, labels: made.metadata.labels, ownerReferences: made.metadata.ownerReferences, generateName: gone.metadata.generateName } });
  }
  return plan;
}
