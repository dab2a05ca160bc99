// startEndpointSliceController: for each Service with a selector, EndpointSlices (at most 100
// endpoints each) listing the selected pods, per address family, owned by the Service (the
// garbage collector removes them with it) and labelled kubernetes.io/service-name and
// endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io. Services without a
// selector and ExternalName Services get none from here (see endpointslicemirroring/).
import type { Node } from "../../../api/resources/core/node";
import type { Pod } from "../../../api/resources/core/pod";
import type { Service } from "../../../api/resources/core/service";
import { endpointSlices as slicesDef, type EndpointSlice } from "../../../api/resources/discovery/endpointslice";
import { ENDPOINTSLICE_CONTROLLER } from "../../../api/resources/discovery/labels";
import { nodes as nodesDef, pods as podsDef, services as servicesDef } from "../../../client/refs";
import type { KubeClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { objectKeyOf } from "../../../client/informer";
import { ControlLoop } from "../../../machinery/controlloop";
import { SharedInformers } from "../informers";
import { NamespaceIndex } from "../nsindex";
import { addressTypesOf, desiredEndpoints } from "./desired";
import { MAX_ENDPOINTS_PER_SLICE, planSlices, type SlicePlan } from "./plan";
import { ManagedSlices } from "./slice-index";

/** How soon a Service whose slices the cache has not caught up with is looked at again. */
const STALE_RETRY_MS = 50;

const selects = (svc: Service, labels: Record<string, string> | undefined) => {
  const sel = svc.spec?.selector;
  if (!sel || !Object.keys(sel).length) return false;
  return Object.entries(sel).every(([k, v]) => labels?.[k] === v);
};

/** What of a pod its endpoints depend on: an update changing none of it wakes no Service. */
const endpointView = (p: Pod) =>
  JSON.stringify([
    p.metadata.labels,
    p.metadata.deletionTimestamp,
    p.status?.phase,
    p.status?.podIP,
    p.status?.podIPs,
    p.status?.conditions?.find((c) => c.type === "Ready")?.status,
    p.spec?.nodeName,
    p.spec?.hostname,
    p.spec?.subdomain,
    p.spec?.containers?.map((c) => c.ports),
  ]);

export interface EndpointSliceControllerOptions {
  informers?: SharedInformers;
  /** --max-endpoints-per-slice; default 100. */
  maxEndpointsPerSlice?: number;
}

export async function startEndpointSliceController(client: KubeClient, opts: EndpointSliceControllerOptions = {}): Promise<{ stop(): Promise<void> }> {
  const shared = opts.informers ?? new SharedInformers(client);
  const max = opts.maxEndpointsPerSlice ?? MAX_ENDPOINTS_PER_SLICE;
  const events = new EventRecorder(client, "endpoint-slice-controller");
  const services = shared.get<Service>(servicesDef);
  const pods = shared.get<Pod>(podsDef);
  const nodes = shared.get<Node>(nodesDef);
  const slicesInformer = shared.get<EndpointSlice>(slicesDef);
  const sliceClient = client.resource<EndpointSlice>(slicesDef);
  const podsByNamespace = NamespaceIndex.of(pods, shared);

  let loop!: ControlLoop;
  const managed = new ManagedSlices(slicesInformer, shared, ENDPOINTSLICE_CONTROLLER, (key) => loop.enqueue(key));


  loop = new ControlLoop(
    {
      name: "endpointslice-controller",
      async reconcile(key) {
        const [namespace] = key.split("/") as [string, string];
        const svc = services.get(key);
        if (!svc) return void managed.forget(key);
        if (svc.spec?.type === "ExternalName" || !svc.spec?.selector) return;
        if (managed.stale(key)) return { requeueAfterMs: STALE_RETRY_MS };
        const selected = podsByNamespace.list(namespace).filter((p) => selects(svc, p.metadata.labels));
        const existing = managed.of(key);
        const types = addressTypesOf(svc);
        const missing = new Set<string>();
        const plan: SlicePlan = { create: [], update: [], delete: existing.filter((s) => !types.includes(s.addressType as never)) };
        for (const type of types) {
          const desired = desiredEndpoints(svc, selected, (n) => nodes.get(n), type);
          for (const m of desired.missingNodes) missing.add(m);
          const p = planSlices(svc, desired.groups, existing.filter((s) => s.addressType === type), type, max);
          plan.create.push(...p.create);
          plan.update.push(...p.update);
          plan.delete.push(...p.delete);
        }
        // No new slices for a Service being deleted: the garbage collector is removing them.
        await managed.carryOut(sliceClient, key, namespace, plan, !svc.metadata.deletionTimestamp);
        // The slices are written without them; the Service is looked at again until their nodes appear.
        if (missing.size) throw new Error(`skipping pods whose node is not found: ${[...missing].sort().join(", ")}`);
      },
      onError(key, e) {
        const svc = services.get(key);
        if (svc)
          events.event({ ...svc, apiVersion: "v1", kind: "Service" }, "Warning", "FailedToUpdateEndpointSlices", `Error updating Endpoint Slices for Service ${key}: ${e instanceof Error ? e.message : String(e)}`);
      },
    },
    4,
  );

  const enqueueForPod = (...versions: Pod[]) => {
    const ns = versions[0]!.metadata.namespace;
    for (const svc of services.list())
      if (svc.metadata.namespace === ns && versions.some((p) => selects(svc, p.metadata.labels))) loop.enqueue(objectKeyOf(svc));
  };
  shared.on(services, { add: (s) => loop.enqueue(objectKeyOf(s)), update: (_, s) => loop.enqueue(objectKeyOf(s)), delete: (s) => loop.enqueue(objectKeyOf(s)) });
  shared.on(pods, {
    add: (p) => enqueueForPod(p),
    update: (o, p) => endpointView(o) !== endpointView(p) && enqueueForPod(o, p),
    delete: (p) => enqueueForPod(p),
  });
  // Zones come from node labels; a pod left out for want of its node comes back with it.
  shared.on(nodes, {
    add: (n) => enqueueForNode(n),
    update: (o, n) => o.metadata.labels?.["topology.kubernetes.io/zone"] !== n.metadata.labels?.["topology.kubernetes.io/zone"] && enqueueForNode(n),
  });
  function enqueueForNode(n: Node) {
    const onNode = pods.list().filter((p) => p.spec?.nodeName === n.metadata.name);
    if (onNode.length) for (const p of onNode) enqueueForPod(p);
  }
  await Promise.all([services, pods, nodes, slicesInformer].map((i) => shared.start(i)));
  loop.start();
  return {
    async stop() {
      await loop.stop();
      if (!opts.informers) shared.stop();
    },
  };
}
