// Services and Endpoints as the API server stores them (defaults applied), for the proxy's tests
// and benchmark.
import type { Endpoints } from "../../api/resources/core/endpoints";
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
  ready?: boolean;
}

export function endpoints(ns: string, name: string, addrs: Addr[], ports: { name?: string; port: number; protocol?: string }[] = [{ name: "http", port: 8080 }]): Endpoints {
  const toAddr = (a: Addr) => ({ ip: a.ip, nodeName: a.node ?? "node-a", targetRef: { kind: "Pod", namespace: ns, name: `pod-${a.ip.replaceAll(".", "-")}` } });
  const ready = addrs.filter((a) => a.ready !== false).map(toAddr);
  const notReady = addrs.filter((a) => a.ready === false).map(toAddr);
  return {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { namespace: ns, name, resourceVersion: "1" },
    subsets: addrs.length
      ? [{ ...(ready.length ? { addresses: ready } : {}), ...(notReady.length ? { notReadyAddresses: notReady } : {}), ports: ports.map((p) => ({ protocol: "TCP", ...p })) }]
      : [],
  } as Endpoints;
}
