// What every cluster has from its first start: the four system namespaces and the `kubernetes`
// Service (first Service IP, port 443) with Endpoints pointing at this API server.
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

  const services = find("", "services");
  if (!objects.tryGet(services, "default", "kubernetes")) {
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
