// startEndpointSliceMirroringController: Endpoints that users manage themselves (their Service
// has no selector) are copied into EndpointSlices managed by
// endpointslicemirroring-controller.k8s.io, so consumers that read only slices (the proxy, the
// DNS) see them too. Not mirrored: Endpoints of Services with a selector (the EndpointSlice
// controller writes their slices), Endpoints labelled endpointslice.kubernetes.io/skip-mirror=true
// (the API server's own `kubernetes` Endpoints, whose slice it writes itself), Endpoints used as a
// leader-election lock, and Endpoints without a Service. Their mirrored slices are deleted.
import type { Endpoints } from "../../../api/resources/core/endpoints";
import type { Service } from "../../../api/resources/core/service";
import { endpointSlices as slicesDef, type EndpointSlice } from "../../../api/resources/discovery/endpointslice";
import { ENDPOINTSLICE_MIRRORING_CONTROLLER, LABEL_SKIP_MIRROR } from "../../../api/resources/discovery/labels";
import { endpoints as endpointsDef, services as servicesDef } from "../../../client/refs";
import type { KubeClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { objectKeyOf } from "../../../client/informer";
import { ControlLoop } from "../../../machinery/controlloop";
import { ManagedSlices } from "../endpointslice/slice-index";
import { SharedInformers } from "../informers";
import { MAX_MIRRORED_PER_SUBSET, mirroredEndpoints, planMirror } from "./mirror";

const LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader";
const STALE_RETRY_MS = 50;

const hasSelector = (svc: Service) => !!svc.spec?.selector && Object.keys(svc.spec.selector).length > 0;
const shouldMirror = (ep: Endpoints) => ep.metadata.labels?.[LABEL_SKIP_MIRROR] !== "true" && !ep.metadata.annotations?.[LEADER_ANNOTATION];

export async function startEndpointSliceMirroringController(client: KubeClient, opts: { informers?: SharedInformers } = {}): Promise<{ stop(): Promise<void> }> {
  const shared = opts.informers ?? new SharedInformers(client);
  const events = new EventRecorder(client, "endpoint-slice-mirroring-controller");
  const services = shared.get<Service>(servicesDef);
  const endpoints = shared.get<Endpoints>(endpointsDef);
  const slicesInformer = shared.get<EndpointSlice>(slicesDef);
  const sliceClient = client.resource<EndpointSlice>(slicesDef);

  let loop!: ControlLoop;
  const managed = new ManagedSlices(slicesInformer, shared, ENDPOINTSLICE_MIRRORING_CONTROLLER, (key) => loop.enqueue(key));


  loop = new ControlLoop(
    {
      name: "endpointslicemirroring-controller",
      async reconcile(key) {
        const [namespace] = key.split("/") as [string, string];
        if (managed.stale(key)) return { requeueAfterMs: STALE_RETRY_MS };
        const existing = managed.of(key);
        const svc = services.get(key);
        const ep = endpoints.get(key);
        if (!svc || hasSelector(svc) || !ep || !shouldMirror(ep)) {
          if (existing.length) await managed.carryOut(sliceClient, key, namespace, { create: [], update: [], delete: existing }, false);
          return;
        }
        const m = mirroredEndpoints(ep);
        if (m.invalid) events.event({ ...ep, apiVersion: "v1", kind: "Endpoints" }, "Warning", "InvalidIPAddress", `Skipped ${m.invalid} invalid IP addresses when mirroring to EndpointSlices`);
        if (m.skipped)
          events.event(
            { ...ep, apiVersion: "v1", kind: "Endpoints" },
            "Warning",
            "TooManyAddressesToMirror",
            `A max of ${MAX_MIRRORED_PER_SUBSET} addresses can be mirrored to EndpointSlices per Endpoints subset. ${m.skipped} addresses were skipped`,
          );
        await managed.carryOut(sliceClient, key, namespace, planMirror(ep, m.groups, existing), !ep.metadata.deletionTimestamp);
      },
      onError(key, e) {
        const ep = endpoints.get(key);
        if (ep) events.event({ ...ep, apiVersion: "v1", kind: "Endpoints" }, "Warning", "FailedToUpdateEndpointSlices", `Error updating EndpointSlices for Endpoints ${key}: ${e instanceof Error ? e.message : String(e)}`);
      },
    },
    2,
  );

  const enqueue = (o: Service | Endpoints) => loop.enqueue(objectKeyOf(o));
  shared.on(services, { add: enqueue, update: (o, n) => hasSelector(o) !== hasSelector(n) && enqueue(n), delete: enqueue });
  shared.on(endpoints, { add: enqueue, update: (_, n) => enqueue(n), delete: enqueue });
  await Promise.all([services, endpoints, slicesInformer].map((i) => shared.start(i)));
  loop.start();
  return {
    async stop() {
      await loop.stop();
      if (!opts.informers) shared.stop();
    },
  };
}
