// What every cluster has from its first start: the four system namespaces and the `kubernetes`
// Service (first Service IP, port 443) with Endpoints pointing at this API server, and the
// networking settings agents follow (a ConfigMap, rewritten when the server's flags change).
import { CLUSTER_NETWORK_CONFIGMAP, clusterNetworkToData } from "../../api/cluster-network";
import type { KubeObject } from "../../api/meta";
import type { ResourceDef } from "../../api/resource";
import { firstServiceIp } from "../../machinery/cidr";
import type { ServerConfig } from "../config";
import type { Objects } from "./objects/objects";

export const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export async function bootstrap(objects: Objects, config: ServerConfig, find: (group: string, plural: string) => ResourceDef) {
  const namespaces = find("", "namespaces");
  for (const name of SYSTEM_NAMESPACES) {
    if (!objects.tryGet(namespaces, undefined, name)) await objects.create(namespaces, undefined, { metadata: { name } });
  }

  await publishClusterNetwork(objects, config, find("", "configmaps"));

  const services = find("", "services");
  const existing = objects.tryGet(services, "default", "kubernetes");
  const ports = (existing?.spec as { ports?: { targetPort?: number | string }[] } | undefined)?.ports;
  if (existing && (ports?.length !== 1 || ports[0].targetPort !== config.httpsListenPort)) {
    // --https-listen-port changed since the Service was made: keep `describe svc kubernetes` true.
    const spec = existing.spec as Record<string, unknown>;
    await objects.update(services, "default", "kubernetes", { ...existing, spec: { ...spec, ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: config.httpsListenPort }] } });
  }
  if (!existing) {
    await objects.create(services, "default", {
      metadata: { name: "kubernetes", labels: { component: "apiserver", provider: "kubernetes" } },
      spec: {
        type: "ClusterIP",
        clusterIP: firstServiceIp(config.serviceCidr),
        ports: [{ name: "https", port: 443, protocol: "TCP", targetPort: config.httpsListenPort }],
        sessionAffinity: "None",
      },
    });
  }

  // A loopback address is useless to pods (and invalid in Endpoints, as upstream): a server
  // advertising one has no `kubernetes` Endpoints until it advertises a real address.
  if (config.advertiseAddress.startsWith("127.")) return;
  const endpoints = find("", "endpoints");
  const desired: KubeObject = {
    metadata: { name: "kubernetes", labels: { "endpointslice.kubernetes.io/skip-mirror": "true" } },
    subsets: [{ addresses: [{ ip: config.advertiseAddress }], ports: [{ name: "https", port: config.httpsListenPort, protocol: "TCP" }] }],
  };
  const current = objects.tryGet(endpoints, "default", "kubernetes");
  if (!current) await objects.create(endpoints, "default", desired);
  else if (JSON.stringify(current.subsets) !== JSON.stringify(desired.subsets))
    await objects.update(endpoints, "default", "kubernetes", { ...current, subsets: desired.subsets });
}

async function publishClusterNetwork(objects: Objects, config: ServerConfig, configmaps: ResourceDef) {
  const { namespace, name } = CLUSTER_NETWORK_CONFIGMAP;
  const data = clusterNetworkToData({
    clusterCidr: config.clusterCidr,
    serviceCidr: config.serviceCidr,
    clusterDns: config.clusterDns,
    clusterDomain: config.clusterDomain,
    podNetwork: config.podNetwork,
    serviceProxy: config.serviceProxy,
    clusterDnsServer: config.clusterDnsServer,
  });
  const current = objects.tryGet(configmaps, namespace, name);
  if (!current) await objects.create(configmaps, namespace, { metadata: { name, labels: { "app.kubernetes.io/managed-by": "bramble" } }, data });
  else if (JSON.stringify(current.data) !== JSON.stringify(data)) await objects.update(configmaps, namespace, name, { ...current, data });
}
