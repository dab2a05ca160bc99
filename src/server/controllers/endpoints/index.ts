// startEndpointsController: for each Service with a selector, an Endpoints object of the same
// name listing the selected pods (see subsets.ts). Services without a selector are left alone:
// their Endpoints are the user's. Endpoints whose Service is gone are deleted (by name; they
// carry no ownerReference, as upstream's).
import { ApiError } from "../../../api/errors";
import { endpoints as endpointsDef, type Endpoints } from "../../../api/resources/core/endpoints";
import { pods as podsDef, type Pod } from "../../../api/resources/core/pod";
import { services as servicesDef, isHeadless, type Service } from "../../../api/resources/core/service";
import { jsonEqual } from "../../../api/resources/common";
import type { KubeClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { objectKeyOf } from "../../../client/informer";
import { SharedInformers } from "../informers";
import { ControlLoop } from "../../../machinery/controlloop";
import { computeSubsets } from "./subsets";

const HEADLESS_LABEL = "service.kubernetes.io/headless";
const LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader";

const selects = (svc: Service, labels: Record<string, string> | undefined) => {
  const sel = svc.spec?.selector;
  if (!sel || !Object.keys(sel).length) return false;
  return Object.entries(sel).every(([k, v]) => labels?.[k] === v);
};

export async function startEndpointsController(client: KubeClient, opts: { informers?: SharedInformers } = {}): Promise<{ stop(): Promise<void> }> {
  const shared = opts.informers ?? new SharedInformers(client);
  const events = new EventRecorder(client, "endpoint-controller");
  const services = shared.get<Service>(servicesDef);
  const pods = shared.get<Pod>(podsDef);
  const eps = shared.get<Endpoints>(endpointsDef);
  const epClient = client.resource<Endpoints>(endpointsDef);

  const loop = new ControlLoop(
    {
      name: "endpoint-controller",
      async reconcile(key) {
        const [namespace, name] = key.split("/");
        const svc = services.get(key);
        const current = eps.get(key);
        if (!svc) {
          // Endpoints used as a leader-election lock by some other program are not ours.
          if (current && !current.metadata.annotations?.[LEADER_ANNOTATION]) await epClient.delete(namespace, name).catch(ignoreNotFound);
          return;
        }
        if (!svc.spec?.selector || !Object.keys(svc.spec.selector).length) return;
        const selected = pods.list().filter((p) => p.metadata.namespace === namespace && selects(svc, p.metadata.labels));
        const missing = new Map<string, string[]>();
        const subsets = computeSubsets(svc, selected, (pod, sp) => {
          const k = `${sp.name ? `port "${sp.name}"` : `port ${sp.port}`} (targetPort "${sp.targetPort}", ${sp.protocol ?? "TCP"})`;
          missing.set(k, [...(missing.get(k) ?? []), pod.metadata.name!]);
        });
        // Upstream only logs this; an Event lets `kubectl describe svc` say why a pod gets no traffic.
        // The recorder writes repeats of one message at most every few minutes.
        for (const [port, names] of missing) {
          names.sort();
          const shown = names.length > 3 ? `${names.slice(0, 3).join(", ")} and ${names.length - 3} more` : names.join(", ");
          events.event({ ...svc, apiVersion: "v1", kind: "Service" }, "Warning", "FailedToResolveTargetPort", `${port} matches no container port of ${names.length} selected pod(s) (${shown}); they are left out of the endpoints for it`);
        }
        const labels: Record<string, string> = { ...svc.metadata.labels };
        if (isHeadless(svc)) labels[HEADLESS_LABEL] = "";
        else delete labels[HEADLESS_LABEL];
        if (current && jsonEqual(current.subsets ?? [], subsets) && jsonEqual(current.metadata.labels ?? {}, labels)) return;
        const desired: Endpoints = { metadata: { name, namespace, labels }, subsets };
        if (!current) {
          try {
            await epClient.create(namespace, desired);
          } catch (e) {
            // Exists but not yet in our cache: the watch will bring it and we converge then.
            if (!(e instanceof ApiError && e.code === 409)) throw e;
          }
        } else {
          await epClient.update({ ...current, metadata: { ...current.metadata, labels }, subsets });
        }
      },
      onError(key, e) {
        const svc = services.get(key);
        if (svc) events.event({ ...svc, apiVersion: "v1", kind: "Service" }, "Warning", "FailedToUpdateEndpoint", `Failed to update endpoint ${key}: ${e instanceof Error ? e.message : String(e)}`);
      },
    },
    4,
  );

  /** The Services in the pod's namespace that select it, before or after a change. */
  const enqueueForPod = (...versions: Pod[]) => {
    const ns = versions[0].metadata.namespace;
    for (const svc of services.list())
      if (svc.metadata.namespace === ns && versions.some((p) => selects(svc, p.metadata.labels))) loop.enqueue(objectKeyOf(svc));
  };
  shared.on(services, { add: (s) => loop.enqueue(objectKeyOf(s)), update: (_, s) => loop.enqueue(objectKeyOf(s)), delete: (s) => loop.enqueue(objectKeyOf(s)) });
  shared.on(pods, { add: (p) => enqueueForPod(p), update: (o, p) => enqueueForPod(o, p), delete: (p) => enqueueForPod(p) });
  // Someone edited or deleted an Endpoints we manage (or it has no Service): look again.
  shared.on(eps, { update: (_, e) => loop.enqueue(objectKeyOf(e)), delete: (e) => loop.enqueue(objectKeyOf(e)), add: (e) => loop.enqueue(objectKeyOf(e)) });

  await Promise.all([services, pods, eps].map((i) => shared.start(i)));
  loop.start();
  return {
    async stop() {
      await loop.stop();
      if (!opts.informers) shared.stop();
    },
  };
}

function ignoreNotFound(e: unknown) {
  if (!(e instanceof ApiError && e.code === 404)) throw e;
}
