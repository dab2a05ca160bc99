// What every cluster has from its first start: the four system namespaces, the two system
// PriorityClasses (re-made at every start, undeletable), the default local-path StorageClass
// (unless --disable local-storage), the `kubernetes` Service (first Service IP, port 443) with
// Endpoints and an EndpointSlice pointing at this API server, and the
// networking settings agents follow (a ConfigMap, rewritten when the server's flags change).
// The Service and its Endpoints are kept so while the server runs, as upstream's API server
// does: re-made within seconds when deleted or edited away. The `kube-dns` Service at the cluster
// DNS address is made and kept the same way (kube-dns-service.ts).
import { CLUSTER_NETWORK_CONFIGMAP, clusterNetworkToData, KUBERNETES_SERVICE } from "../../api/cluster-network";
import type { KubeObject } from "../../api/meta";
import { LABEL_SERVICE_NAME } from "../../api/resources/discovery/labels";
import type { ResourceDef } from "../../api/resource";
import { SYSTEM_PRIORITY_CLASSES } from "../../api/resources/scheduling/priorityclass";
import { LOCAL_PATH_STORAGE_CLASS } from "../../api/resources/storage/storageclass";
import { BRAMBLE_INGRESS_CLASS, BRAMBLE_INGRESS_CONTROLLER, DEFAULT_CLASS_ANNOTATION } from "../../api/resources/networking/ingressclass";
import { firstServiceIp } from "../../machinery/cidr";
import type { Logger } from "../../machinery/log";
import type { ServerConfig } from "../config";
import type { Objects } from "./objects/objects";
import { ensureKubeDnsService } from "./kube-dns-service";

type Find = (group: string, plural: string) => ResourceDef;

/** How often the `kubernetes` Service and Endpoints are checked (upstream's endpoint reconciler interval). */
export const KUBERNETES_SERVICE_CHECK_MS = 10_000;

export const SYSTEM_NAMESPACES = ["default", "kube-system", "kube-public", "kube-node-lease"];

export async function bootstrap(objects: Objects, config: ServerConfig, find: Find) {
  const namespaces = find("", "namespaces");
  for (const name of SYSTEM_NAMESPACES) {
    if (!objects.tryGet(namespaces, undefined, name)) await objects.create(namespaces, undefined, { metadata: { name } });
  }
  const priorityClasses = find("scheduling.k8s.io", "priorityclasses");
  for (const pc of SYSTEM_PRIORITY_CLASSES) {
    if (!objects.tryGet(priorityClasses, undefined, pc.metadata.name!)) await objects.create(priorityClasses, undefined, structuredClone(pc));
  }
  // k3s's local-storage addon: made when missing; a class the user changed or deleted while the
  // server ran is made again only if it is missing at the next start.
  if (config.localStorage !== false) {
    const classes = find("storage.k8s.io", "storageclasses");
    if (!objects.tryGet(classes, undefined, LOCAL_PATH_STORAGE_CLASS.metadata.name!)) await objects.create(classes, undefined, structuredClone(LOCAL_PATH_STORAGE_CLASS));
  }

  if (config.ingress !== false) {
    const ingressClasses = find("networking.k8s.io", "ingressclasses");
    if (!objects.tryGet(ingressClasses, undefined, BRAMBLE_INGRESS_CLASS))
      await objects.create(ingressClasses, undefined, {
        apiVersion: "networking.k8s.io/v1",
        kind: "IngressClass",
        metadata: { name: BRAMBLE_INGRESS_CLASS, annotations: { [DEFAULT_CLASS_ANNOTATION]: "true" }, labels: { "app.kubernetes.io/managed-by": "bramble" } },
        spec: { controller: BRAMBLE_INGRESS_CONTROLLER },
      });
  }

  await publishClusterNetwork(objects, config, find("", "configmaps"));
  await ensureKubernetesService(objects, config, find);
  // Not worth failing the start over: the keeper below tries again, and logs why.
  await ensureKubeDnsService(objects, config, find).catch(() => {});
}

/** Checks the `kubernetes` and `kube-dns` Services and their endpoints every `intervalMs`; writes only what differs. */
export function keepKubernetesService(objects: Objects, config: ServerConfig, find: Find, log: Logger, intervalMs = KUBERNETES_SERVICE_CHECK_MS) {
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    ensureKubernetesService(objects, config, find)
      .catch((e) => log.warn("cannot restore the kubernetes Service; retrying", { error: String(e) }))
      .then(() => ensureKubeDnsService(objects, config, find))
      .catch((e) => log.warn("cannot restore the kube-dns Service; retrying", { error: String(e) }))
      .finally(() => (running = false));
  }, intervalMs);
  timer.unref?.();
  return { stop: () => clearInterval(timer) };
}

export async function ensureKubernetesService(objects: Objects, config: ServerConfig, find: Find) {
  const { namespace, name, port } = KUBERNETES_SERVICE;
  const services = find("", "services");
  const wantedPorts = [{ name: "https", port, protocol: "TCP", targetPort: config.httpsListenPort }];
  const existing = objects.tryGet(services, namespace, name);
  const ports = (existing?.spec as { ports?: Record<string, unknown>[] } | undefined)?.ports;
  // Compared field by field: defaulting may add fields, which must not cost a write every check.
  const portsRight = ports?.length === 1 && Object.entries(wantedPorts[0]).every(([k, v]) => ports[0][k] === v);
  if (existing && !existing.metadata.deletionTimestamp && !portsRight) {
    // --https-listen-port changed since the Service was made, or someone edited it: keep `describe svc kubernetes` true.
    const spec = existing.spec as Record<string, unknown>;
    await objects.update(services, namespace, name, { ...existing, spec: { ...spec, ports: wantedPorts } });
  }
  if (!existing) {
    await objects.create(services, namespace, {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name, labels: { component: "apiserver", provider: "kubernetes" } },
      spec: { type: "ClusterIP", clusterIP: firstServiceIp(config.serviceCidr), ports: wantedPorts, sessionAffinity: "None" },
    });
  }

  // A loopback address is useless to pods (and invalid in Endpoints, as upstream): a server
  // advertising one has no `kubernetes` Endpoints until it advertises a real address.
  if (config.advertiseAddress.startsWith("127.")) return;
  const endpoints = find("", "endpoints");
  const desired: KubeObject = {
    apiVersion: "v1",
    kind: "Endpoints",
    metadata: { name, labels: { "endpointslice.kubernetes.io/skip-mirror": "true" } },
    subsets: [{ addresses: [{ ip: config.advertiseAddress }], ports: [{ name: "https", port: config.httpsListenPort, protocol: "TCP" }] }],
  };
  const current = objects.tryGet(endpoints, namespace, name);
  if (!current) await objects.create(endpoints, namespace, desired);
  else if (!current.metadata.deletionTimestamp && JSON.stringify(current.subsets) !== JSON.stringify(desired.subsets))
    await objects.update(endpoints, namespace, name, { ...current, subsets: desired.subsets });

  // Its EndpointSlice, written here too (the Endpoints say skip-mirror), as upstream's API server
  // does: named like the Service, labelled with its name only, one ready endpoint.
  const slices = find("discovery.k8s.io", "endpointslices");
  const slice = {
    addressType: config.advertiseAddress.includes(":") ? "IPv6" : "IPv4",
    endpoints: [{ addresses: [config.advertiseAddress], conditions: { ready: true } }],
    ports: [{ name: "https", port: config.httpsListenPort, protocol: "TCP" }],
  };
  const labels = { [LABEL_SERVICE_NAME]: name };
  const currentSlice = objects.tryGet(slices, namespace, name);
  if (!currentSlice) await objects.create(slices, namespace, { apiVersion: "discovery.k8s.io/v1", kind: "EndpointSlice", metadata: { name, labels }, ...slice });
  else if (
    !currentSlice.metadata.deletionTimestamp &&
    JSON.stringify([currentSlice.addressType, currentSlice.endpoints, currentSlice.ports, currentSlice.metadata.labels]) !== JSON.stringify([slice.addressType, slice.endpoints, slice.ports, labels])
  ) {
    // The address type is immutable: a server moved to the other family leaves the old slice.
    if (currentSlice.addressType === slice.addressType)
      await objects.update(slices, namespace, name, { ...currentSlice, metadata: { ...currentSlice.metadata, labels }, ...slice });
  }
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
    ingress: config.ingress !== false,
    networkPolicy: config.networkPolicy !== false,
  });
  const current = objects.tryGet(configmaps, namespace, name);
  if (!current) await objects.create(configmaps, namespace, { metadata: { name, labels: { "app.kubernetes.io/managed-by": "bramble" } }, data });
  else if (JSON.stringify(current.data) !== JSON.stringify(data)) await objects.update(configmaps, namespace, name, { ...current, data });
}
