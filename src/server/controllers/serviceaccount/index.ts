// startServiceAccountController: every namespace that is not terminating has a `default`
// ServiceAccount, created with the namespace and recreated if deleted (upstream's
// serviceaccounts-controller). Only the `default` accounts are watched (field selector), so the
// cache stays one small object per namespace.
import { ApiError } from "../../../api/errors";
import type { Namespace } from "../../../api/resources/core/namespace";
import { namespaces } from "../../../api/resources/core/namespace";
import type { ServiceAccount } from "../../../api/resources/core/serviceaccount";
import { serviceAccounts } from "../../../api/resources/core/serviceaccount";
import type { KubeClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { SharedInformers } from "../informers";
import { ControlLoop } from "../../../machinery/controlloop";

const DEFAULT = "default";

export async function startServiceAccountController(client: KubeClient, opts: { informers?: SharedInformers } = {}): Promise<{ stop(): Promise<void> }> {
  const shared = opts.informers ?? new SharedInformers(client);
  const events = new EventRecorder(client, "service-account-controller");
  const nsInformer = shared.get<Namespace>(namespaces);
  const saInformer = shared.get<ServiceAccount>(serviceAccounts, { fieldSelector: `metadata.name=${DEFAULT}` });
  const accounts = client.resource<ServiceAccount>(serviceAccounts);
  const loop = new ControlLoop({
    name: "serviceaccount-controller",
    async reconcile(namespace) {
      const ns = nsInformer.get(namespace);
      if (!ns || ns.metadata.deletionTimestamp) return;
      if (saInformer.get(`${namespace}/${DEFAULT}`)) return;
      try {
        await accounts.create(namespace, { metadata: { name: DEFAULT } });
      } catch (e) {
        // AlreadyExists: our cache lags; Forbidden: the namespace began terminating meanwhile.
        if (!(e instanceof ApiError && (e.code === 409 || e.code === 403 || e.code === 404))) throw e;
      }
    },
    onError(namespace, e) {
      const ns = nsInformer.get(namespace);
      if (ns) events.event({ ...ns, apiVersion: "v1", kind: "Namespace" }, "Warning", "FailedCreate", `cannot create the default ServiceAccount: ${e instanceof Error ? e.message : String(e)}`);
    },
  });
  shared.on(nsInformer, { add: (ns) => loop.enqueue(ns.metadata.name!), update: (_, ns) => loop.enqueue(ns.metadata.name!) });
  shared.on(saInformer, { delete: (sa) => loop.enqueue(sa.metadata.namespace!) });
  await Promise.all([shared.start(nsInformer), shared.start(saInformer)]);
  loop.start();
  return {
    async stop() {
      await loop.stop();
      if (!opts.informers) shared.stop();
    },
  };
}
