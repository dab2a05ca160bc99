// The agent's one watch of EndpointSlices, shared by the Service proxy and the cluster DNS: slim
// copies (what either of them reads) indexed by the Service each slice names, so a Service's
// endpoints are the merge of its slices. A consumer that registers after the first list gets the
// cached slices replayed as adds, so the proxy and the DNS may start in any order.
import type { EndpointSlice } from "../api/resources/discovery/endpointslice";
import { LABEL_SERVICE_NAME, serviceKeyOfSlice } from "../api/resources/discovery/labels";
import type { KubeClient } from "../client/client";
import { Informer, objectKeyOf, type InformerHandlers } from "../client/informer";
import { endpointSlices as slicesRef } from "../client/refs";

/** Informer transform: a slice reduced to what the proxy and the DNS answer from. */
export function slimSlice(s: EndpointSlice): EndpointSlice {
  const service = s.metadata.labels?.[LABEL_SERVICE_NAME];
  return {
    metadata: {
      name: s.metadata.name,
      namespace: s.metadata.namespace,
      resourceVersion: s.metadata.resourceVersion,
      ...(service !== undefined && { labels: { [LABEL_SERVICE_NAME]: service } }),
    },
    addressType: s.addressType,
    endpoints: (s.endpoints ?? []).map((e) => ({
      addresses: e.addresses,
      ...(e.conditions && { conditions: e.conditions }),
      ...(e.hostname && { hostname: e.hostname }),
      ...(e.nodeName && { nodeName: e.nodeName }),
    })),
    ports: (s.ports ?? []).map((p) => ({ name: p.name, port: p.port, protocol: p.protocol })),
  } as EndpointSlice;
}

export class ServiceSlices {
  private readonly informer: Informer<EndpointSlice>;
  private readonly byService = new Map<string, Map<string, EndpointSlice>>();
  private started?: Promise<void>;

  constructor(client: KubeClient) {
    this.informer = new Informer<EndpointSlice>(client.resource<EndpointSlice>(slicesRef), { transform: slimSlice });
    // Registered first, so the index is current when any consumer's handler runs.
    this.informer.on({
      add: (s) => this.put(s),
      update: (old, s) => {
        this.remove(old);
        this.put(s);
      },
      delete: (s) => this.remove(s),
    });
  }

  private put(s: EndpointSlice) {
    const svc = serviceKeyOfSlice(s);
    if (!svc) return;
    let m = this.byService.get(svc);
    if (!m) this.byService.set(svc, (m = new Map()));
    m.set(objectKeyOf(s), s);
  }

  private remove(s: EndpointSlice) {
    const svc = serviceKeyOfSlice(s);
    const m = svc ? this.byService.get(svc) : undefined;
    if (!m) return;
    m.delete(objectKeyOf(s));
    if (m.size === 0) this.byService.delete(svc!);
  }

  /** The slices of a Service ("namespace/name"), undefined when it has none. */
  of(serviceKey: string): EndpointSlice[] | undefined {
    const m = this.byService.get(serviceKey);
    return m ? [...m.values()] : undefined;
  }

  /**
   * Adds handlers; on a running watch the slices cached so far are replayed to them as adds
   * (synchronously, so none is missed or delivered twice).
   */
  on(h: InformerHandlers<EndpointSlice>) {
    this.informer.on(h);
    if (this.started) for (const s of this.informer.list()) h.add?.(s);
  }

  /** Starts the watch once; resolves when the first list has been delivered. */
  start(): Promise<void> {
    this.started ??= this.informer.start();
    return this.started;
  }

  get synced(): Promise<void> {
    return this.informer.synced;
  }

  stop() {
    this.informer.stop();
  }
}
