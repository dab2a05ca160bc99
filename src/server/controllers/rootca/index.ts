// startRootCaPublisher: every namespace that is not terminating has a ConfigMap
// `kube-root-ca.crt` holding the cluster CA under `ca.crt` (upstream's root-ca-cert-publisher),
// which pods mount (the `kube-api-access-*` projected volume upstream's admission injects) to
// trust the API server. Recreated when deleted, rewritten when edited or when the CA changes.
// Only that one ConfigMap per namespace is watched (field selector), so the cache stays small.
import { ApiError } from "../../../api/errors";
import type { ConfigMap } from "../../../api/resources/core/configmap";
import { configMaps } from "../../../api/resources/core/configmap";
import type { Namespace } from "../../../api/resources/core/namespace";
import { namespaces } from "../../../api/resources/core/namespace";
import type { KubeClient } from "../../../client/client";
import { SharedInformers } from "../informers";
import { ControlLoop } from "../../../machinery/controlloop";

export const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";
const DESCRIPTION =
  "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

export async function startRootCaPublisher(client: KubeClient, opts: { caCertPem: string; informers?: SharedInformers }): Promise<{ stop(): Promise<void> }> {
  const shared = opts.informers ?? new SharedInformers(client);
  const nsInformer = shared.get<Namespace>(namespaces);
  const cmInformer = shared.get<ConfigMap>(configMaps, { fieldSelector: `metadata.name=${ROOT_CA_CONFIGMAP}` });
  const api = client.resource<ConfigMap>(configMaps);
  const data = { "ca.crt": opts.caCertPem };
  const loop = new ControlLoop({
    name: "root-ca-cert-publisher",
    async reconcile(namespace) {
      const ns = nsInformer.get(namespace);
      if (!ns || ns.metadata.deletionTimestamp) return;
      const current = cmInformer.get(`${namespace}/${ROOT_CA_CONFIGMAP}`);
      try {
        if (!current) {
          await api.create(namespace, { metadata: { name: ROOT_CA_CONFIGMAP, annotations: { "kubernetes.io/description": DESCRIPTION } }, data });
        } else if (current.data?.["ca.crt"] !== opts.caCertPem || Object.keys(current.data ?? {}).length !== 1 || current.binaryData) {
          // As upstream: the whole data is ours; a resourceVersion in the update makes a racing edit a retried Conflict.
          await api.update({ ...current, data, binaryData: undefined });
        }
      } catch (e) {
        // AlreadyExists: our cache lags; Forbidden/NotFound: the namespace began terminating or went away.
        if (!(e instanceof ApiError && (e.code === 409 && !current || e.code === 403 || e.code === 404))) throw e;
      }
    },
  });
  shared.on(nsInformer, { add: (ns) => loop.enqueue(ns.metadata.name!), update: (_, ns) => loop.enqueue(ns.metadata.name!) });
  shared.on(cmInformer, {
    update: (_, cm) => loop.enqueue(cm.metadata.namespace!),
    delete: (cm) => loop.enqueue(cm.metadata.namespace!),
  });
  await Promise.all([shared.start(nsInformer), shared.start(cmInformer)]);
  loop.start();
  return {
    async stop() {
      await loop.stop();
      if (!opts.informers) shared.stop();
    },
  };
}
