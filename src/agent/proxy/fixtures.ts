// Services and EndpointSlices as the API server stores them (defaults applied), for the proxy's
// tests and benchmark.
import type { EndpointSlice } from "../../api/resources/discovery/endpointslice";
import type { Service, ServiceSpec } from "../../api/resources/core/service";

export function service(ns: string, name: string, clusterIP: string, spec: Partial<ServiceSpec> = {}, ingressIps: string[] = []): Service {
  const type = spec.type ?? "ClusterIP";
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: { namespace: ns, name, uid: `uid-${ns}-${name}`, resourceVersion: "1" },
    spec: {
      type,
      clusterIP,
      clusterIPs: [clusterIP],
      sessionAffinity: "None",
      ports: [{ name: "http", protocol: "TCP", port: 80, targetPort: 8080 }],
      ...(type === "NodePort" || type === "LoadBalancer" ? { externalTrafficPolicy: "Cluster" } : {}),
      ...spec,
    },
    status: { loadBalancer: ingressIps.length ? { ingress: ingressIps.map((ip) => ({ ip })) } : {} },
  } as Service;
}

export interface Addr {
  ip: string;
  node?: string;
  /** Default true. */
  ready?: boolean;
  /** The pod is being deleted (ready is then false, as the EndpointSlice controller writes it). */
  terminating?: boolean;
  /** Whether a terminating pod still passes its readiness probe; default true. */
  serving?: boolean;
}

/** The EndpointSlice the controller would write for a Service `name` with these pods (its slice "<name>-fixture"). */
export function endpointSlice(ns: string, name: string, addrs: Addr[], ports: { name?: string; port: number; protocol?: string }[] = [{ name: "http", port: 8080 }], sliceName = `${name}-fixture`): EndpointSlice {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: {
      namespace: ns,
      name: sliceName,
      resourceVersion: "1",
      labels: { "kubernetes.io/service-name": name, "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io" },
    },
    addressType: "IPv4",
    endpoints: addrs.map((a) => {
      const terminating = a.terminating === true;
      const serving = terminating ? a.serving !== false : a.ready !== false;
      return {
        addresses: [a.ip],
        conditions: { ready: !terminating && a.ready !== false, serving, terminating },
        nodeName: a.node ?? "node-a",
        targetRef: { kind: "Pod", namespace: ns, name: `pod-${a.ip.replaceAll(".", "-")}` },
      };
    }),
    ports: ports.map((p) => ({ name: p.name ?? "", protocol: "TCP", ...p })),
  } as EndpointSlice;
}
