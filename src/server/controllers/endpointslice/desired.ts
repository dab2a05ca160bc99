// Pure: the endpoints a Service's selected pods should have in EndpointSlices, grouped by their
// resolved port set, as upstream's EndpointSlice reconciler computes them (podToEndpoint,
// getEndpointPorts). Terminating pods stay in, with ready=false and serving telling whether
// they still answer, so consumers can fall back to them.
import type { EndpointSlicePort, SliceEndpoint } from "../../../api/resources/discovery/endpointslice";
import type { Node } from "../../../api/resources/core/node";
import type { Pod } from "../../../api/resources/core/pod";
import type { Service } from "../../../api/resources/core/service";
import { isIPv4 } from "../../../api/ip";
import { isPodReady } from "../podutil";
import { podBelongs, resolvePort } from "../endpoints/subsets";

export type AddressType = "IPv4" | "IPv6";

const ZONE_LABEL = "topology.kubernetes.io/zone";

/** The slice groups of one port set: its ports and endpoints by identity. */
export interface DesiredGroup {
  ports: EndpointSlicePort[];
  endpoints: Map<string, SliceEndpoint>;
}

/** Port sets compare by content: name, protocol, port, appProtocol of each, order-independent. */
export function portsKey(ports: EndpointSlicePort[] | undefined): string {
  return JSON.stringify(
    (ports ?? []).map((p) => [p.name ?? "", p.protocol ?? "TCP", p.port ?? null, p.appProtocol ?? null]).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)),
  );
}

/**
 * An endpoint's identity across updates (upstream's hashEndpoint): its addresses, hostname and
 * target pod. Conditions, node and zone may change in place without a new endpoint.
 */
export function endpointKey(ep: SliceEndpoint): string {
  return JSON.stringify([[...(ep.addresses ?? [])].sort(), ep.hostname ?? "", ep.targetRef?.namespace ?? "", ep.targetRef?.name ?? ""]);
}

/** The address families a Service's slices carry: its ipFamilies, else the family of its cluster IP. */
export function addressTypesOf(svc: Service): AddressType[] {
  const fams = (svc.spec?.ipFamilies ?? []).filter((f): f is AddressType => f === "IPv4" || f === "IPv6");
  if (fams.length) return [...new Set(fams)];
  const ip = svc.spec?.clusterIP;
  if (ip && ip !== "None") return [isIPv4(ip) ? "IPv4" : "IPv6"];
  return ["IPv4", "IPv6"];
}

/** upstream's getEndpointPorts: each Service port this pod serves, resolved to its number. */
export function endpointPorts(svc: Service, pod: Pod): EndpointSlicePort[] {
  const spec = svc.spec ?? {};
  const out: EndpointSlicePort[] = [];
  for (const sp of spec.ports ?? []) {
    const port = resolvePort(pod, sp);
    if (port === undefined) continue;
    out.push({ name: sp.name ?? "", protocol: sp.protocol ?? "TCP", port, ...(sp.appProtocol !== undefined && { appProtocol: sp.appProtocol }) });
  }
  return out;
}

function podAddresses(pod: Pod, addressType: AddressType): string[] {
  const ips = pod.status?.podIPs?.length ? pod.status.podIPs.map((p) => p.ip) : pod.status?.podIP ? [pod.status.podIP] : [];
  return ips.filter((ip) => (addressType === "IPv4") === isIPv4(ip));
}

/** upstream's podToEndpoint. */
export function podToEndpoint(pod: Pod, node: Node | undefined, svc: Service, addressType: AddressType): SliceEndpoint {
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata.deletionTimestamp;
  // Ready is never true for a terminating endpoint, unless the Service publishes unready ones.
  const ready = svc.spec?.publishNotReadyAddresses === true || (serving && !terminating);
  const ep: SliceEndpoint = {
    addresses: podAddresses(pod, addressType),
    conditions: { ready, serving, terminating },
    targetRef: { kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
  };
  if (pod.spec?.nodeName) ep.nodeName = pod.spec.nodeName;
  const zone = node?.metadata.labels?.[ZONE_LABEL];
  if (zone) ep.zone = zone;
  // A pod is addressable by hostname only inside its own subdomain (the Service of that name).
  if (pod.spec?.hostname && pod.spec.subdomain === svc.metadata.name) ep.hostname = pod.spec.hostname;
  return ep;
}

export interface Desired {
  groups: Map<string, DesiredGroup>;
  /** Pods left out because their node is not known (yet): the Service is synced again later. */
  missingNodes: string[];
}

export function desiredEndpoints(svc: Service, pods: Pod[], nodeOf: (name: string) => Node | undefined, addressType: AddressType): Desired {
  const groups = new Map<string, DesiredGroup>();
  const missingNodes: string[] = [];
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  for (const pod of pods) {
    if (!podBelongs(pod, true)) continue;
    const ports = endpointPorts(svc, pod);
    const key = portsKey(ports);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports, endpoints: new Map() }));
    const node = pod.spec?.nodeName ? nodeOf(pod.spec.nodeName) : undefined;
    // A pod on a node that does not exist gets no endpoint (the pod GC will remove it), unless
    // the Service asks for every address to be published.
    if (!node && !publishNotReady) {
      missingNodes.push(`${pod.metadata.name} (node ${JSON.stringify(pod.spec?.nodeName ?? "")})`);
      continue;
    }
    const ep = podToEndpoint(pod, node, svc, addressType);
    if (ep.addresses.length) g.endpoints.set(endpointKey(ep), ep);
  }
  return { groups, missingNodes };
}
