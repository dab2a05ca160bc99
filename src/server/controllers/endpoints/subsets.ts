// Pure: the Endpoints subsets for a Service and its selected pods, as upstream's endpoints
// controller computes them. A pod's address goes into `addresses` when it is ready (or the
// Service publishes not-ready addresses), else `notReadyAddresses`. Ports are resolved per pod
// (a named targetPort is the pod's container port of that name, so pods may differ), and
// addresses with the same resolved port set share a subset; a pod without a named port is left
// out of that port only.
import type { EndpointAddress, EndpointSubset } from "../../../api/resources/core/endpoints";
import type { Pod } from "../../../api/resources/core/pod";
import type { Service, ServicePort } from "../../../api/resources/core/service";

type EndpointPort = NonNullable<EndpointSubset["ports"]>[number];

const isReady = (pod: Pod) => pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/** upstream's ShouldPodBeInEndpoints: an IP, not finished, and not terminating (unless asked). */
export function podBelongs(pod: Pod, includeTerminating: boolean): boolean {
  const phase = pod.status?.phase;
  if (phase === "Failed" || phase === "Succeeded") return false;
  if (!pod.status?.podIP) return false;
  return includeTerminating || !pod.metadata.deletionTimestamp;
}

/** The container port a Service port reaches on this pod, or undefined when the pod has none. */
export function resolvePort(pod: Pod, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === "number") return target;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = sp.protocol ?? "TCP";
  for (const c of pod.spec?.containers ?? [])
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? "TCP") === protocol) return p.containerPort;
  return undefined;
}

function addressOf(pod: Pod, svc: Service): EndpointAddress {
  const a: EndpointAddress = {
    ip: pod.status!.podIP!,
    targetRef: { kind: "Pod", namespace: pod.metadata.namespace, name: pod.metadata.name, uid: pod.metadata.uid },
  };
  if (pod.spec?.nodeName) a.nodeName = pod.spec.nodeName;
  // A pod is addressable by hostname only inside its own subdomain (headless Service of that name).
  if (pod.spec?.hostname && pod.spec.subdomain === svc.metadata.name) a.hostname = pod.spec.hostname;
  return a;
}

/** A selected pod left out of a Service port because its named targetPort matches none of the pod's ports. */
export type UnresolvedPort = (pod: Pod, port: ServicePort) => void;

export function computeSubsets(svc: Service, selected: Pod[], unresolved?: UnresolvedPort): EndpointSubset[] {
  const publishNotReady = svc.spec?.publishNotReadyAddresses === true;
  const svcPorts = svc.spec?.ports ?? [];
  const groups = new Map<string, { ports: EndpointPort[]; addresses: EndpointAddress[]; notReady: EndpointAddress[] }>();
  for (const pod of selected) {
    if (!podBelongs(pod, publishNotReady)) continue;
    const ports: EndpointPort[] = [];
    for (const sp of svcPorts) {
      const port = resolvePort(pod, sp);
      if (port === undefined) {
        unresolved?.(pod, sp);
        continue;
      }
      ports.push({ ...(sp.name && { name: sp.name }), port, protocol: sp.protocol ?? "TCP" });
    }
    // A Service with ports that this pod serves none of has nothing to send it (upstream skips it).
    if (svcPorts.length && !ports.length) continue;
    ports.sort((a, b) => (a.name ?? "").localeCompare(b.name ?? "") || a.port - b.port);
    const key = JSON.stringify(ports);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ports, addresses: [], notReady: [] }));
    (publishNotReady || isReady(pod) ? g.addresses : g.notReady).push(addressOf(pod, svc));
  }
  const byIp = (a: EndpointAddress, b: EndpointAddress) => a.ip.localeCompare(b.ip) || (a.targetRef?.name ?? "").localeCompare(b.targetRef?.name ?? "");
  return [...groups.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([, g]) => ({
      ...(g.addresses.length && { addresses: g.addresses.sort(byIp) }),
      ...(g.notReady.length && { notReadyAddresses: g.notReady.sort(byIp) }),
      ...(g.ports.length && { ports: g.ports }),
    }));
}
