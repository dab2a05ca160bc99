// The EndpointSlices of one manager, by the Service they name, maintained from the shared slice
// informer's events; and the writes this controller made that its cache has not shown yet, so a
// reconcile never acts on a cache that misses its own last write (a second create of a slice it
// just made, say) — upstream's EndpointSliceTracker.
import { ApiError } from "../../../api/errors";
import type { EndpointSlice } from "../../../api/resources/discovery/endpointslice";
import type { ResourceClient } from "../../../client/client";
import { LABEL_MANAGED_BY, serviceKeyOfSlice } from "../../../api/resources/discovery/labels";
import { objectKeyOf, type Informer } from "../../../client/informer";
import type { SharedInformers } from "../informers";
import type { SlicePlan } from "./plan";

export class ManagedSlices {
  private readonly byService = new Map<string, Map<string, EndpointSlice>>();
  private readonly serviceOf = new Map<string, string>();
  /** service key → slice name → resourceVersion written, or "gone" for a delete. */
  private readonly expected = new Map<string, Map<string, string>>();

  constructor(
    informer: Informer<EndpointSlice>,
    shared: SharedInformers,
    private readonly managedBy: string,
    onChange: (serviceKey: string) => void,
  ) {
    const put = (s: EndpointSlice) => {
      const key = objectKeyOf(s);
      const before = this.serviceOf.get(key);
      const svc = s.metadata.labels?.[LABEL_MANAGED_BY] === this.managedBy ? serviceKeyOfSlice(s) : undefined;
      if (before && before !== svc) {
        this.drop(before, key);
        this.expected.get(before)?.delete(s.metadata.name!);
      }
      if (svc) {
        let m = this.byService.get(svc);
        if (!m) this.byService.set(svc, (m = new Map()));
        m.set(key, s);
        this.serviceOf.set(key, svc);
      }
      if (before) onChange(before);
      if (svc && svc !== before) onChange(svc);
    };
    shared.on(informer, {
      add: put,
      update: (_, s) => put(s),
      delete: (s) => {
        const key = objectKeyOf(s);
        const svc = this.serviceOf.get(key);
        if (!svc) return;
        this.drop(svc, key);
        // A slice deleted by someone else is not coming back at the version we expected.
        const exp = this.expected.get(svc);
        if (exp?.get(s.metadata.name!) !== "gone") exp?.delete(s.metadata.name!);
        onChange(svc);
      },
    });
  }


  /**
   * Writes a plan for one Service's slices and records each write as expected (`creating` false:
   * no new slices, e.g. for a Service being deleted, whose slices the garbage collector removes).
   */
  async carryOut(client: ResourceClient<EndpointSlice>, key: string, namespace: string, plan: SlicePlan, creating = true) {
    if (creating) for (const s of plan.create) this.expect(key, await client.create(namespace, s));
    for (const s of plan.update) this.expect(key, await client.update(s));
    for (const s of plan.delete) {
      try {
        await client.delete(namespace, s.metadata.name!);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
      this.expect(key, s, true);
    }
  }
  private drop(svc: string, key: string) {
    const m = this.byService.get(svc);
    m?.delete(key);
    if (m && m.size === 0) this.byService.delete(svc);
    this.serviceOf.delete(key);
  }

  /** The Service's slices (pending deletion left out, as upstream). */
  of(serviceKey: string): EndpointSlice[] {
    return [...(this.byService.get(serviceKey)?.values() ?? [])].filter((s) => !s.metadata.deletionTimestamp);
  }

  /** A write this controller made, to be seen in the cache before the Service is reconciled again. */
  expect(serviceKey: string, slice: EndpointSlice, deleted = false) {
    let m = this.expected.get(serviceKey);
    if (!m) this.expected.set(serviceKey, (m = new Map()));
    m.set(slice.metadata.name!, deleted ? "gone" : slice.metadata.resourceVersion!);
  }

  /** Whether the cache still misses one of this controller's writes for the Service. */
  stale(serviceKey: string): boolean {
    const m = this.expected.get(serviceKey);
    if (!m) return false;
    const cached = new Map([...(this.byService.get(serviceKey)?.values() ?? [])].map((s) => [s.metadata.name!, s]));
    for (const [name, rv] of m) {
      const s = cached.get(name);
      const seen = rv === "gone" ? !s : !!s && Number(s.metadata.resourceVersion) >= Number(rv);
      if (seen) m.delete(name);
    }
    if (m.size === 0) this.expected.delete(serviceKey);
    return m.size > 0;
  }

  forget(serviceKey: string) {
    this.expected.delete(serviceKey);
  }
}
