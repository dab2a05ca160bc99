// startResourceQuotaController: keeps every ResourceQuota's status (hard, used) in line with the
// namespace's objects, as upstream's resource-quota controller. A quota is recounted in full when
// it changes; an object is charged by admission when it is created, and the controller recounts a
// namespace's quotas when usage falls (an object deleted, a pod finished or past its grace
// period, a Service or claim changed), when an object of a namespace with a quota arrives (a
// recount that ran while a charged object was still on its way to the cache wrote a usage short
// of it; the object's own arrival puts that right, as after a server restart), and every few
// minutes, which also returns charges of writes that failed after admission. Object caches are the shared ones: pods and Services in full, the
// other counted kinds as metadata only, started when some quota first counts them.
import { ApiError } from "../../../api/errors";
import { KINDS, sameResource } from "../../../api/kinds";
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import { resources as allResources } from "../../../api/registry";
import { resourceQuotas, type ResourceQuota } from "../../../api/resources/core/resourcequota";
import type { KubeClient } from "../../../client/client";
import type { Informer } from "../../../client/informer";
import { ControlLoop } from "../../../machinery/controlloop";
import { evaluatorFor } from "../../quota/evaluators";
import { equal, parseResourceList } from "../../quota/resourcelist";
import { SharedInformers } from "../informers";
import { computeStatus, countedKinds } from "./usage";

export interface ResourceQuotaControllerOptions {
  informers?: SharedInformers;
  /** Served kinds (default: all); tests pass fewer. */
  resources?: ResourceDef[];
  /** Full recount of every quota (upstream's --resource-quota-sync-period, 5 minutes). */
  resyncMs?: number;
  now?: () => Date;
}

/** Kinds whose object bodies the evaluators read (requests, type, storage); the others count as metadata. */
const READ_IN_FULL = (def: ResourceDef) => sameResource(def, KINDS.pods) || sameResource(def, KINDS.services) || (def.group === "" && def.plural === "persistentvolumeclaims");

export async function startResourceQuotaController(client: KubeClient, opts: ResourceQuotaControllerOptions = {}): Promise<{ stop(): Promise<void> }> {
  const shared = opts.informers ?? new SharedInformers(client);
  const resources = opts.resources ?? allResources;
  const now = opts.now ?? (() => new Date());
  const quotas = shared.get<ResourceQuota>(resourceQuotas);
  const api = client.resource<ResourceQuota>(resourceQuotas);

  const watched = new Map<string, Informer<KubeObject>>();
  /** Quotas queued only because an object arrived: their recount may raise usage, never lower it. */
  const raiseOnly = new Set<string>();
  const enqueueNamespace = (namespace: string | undefined, arrival = false) => {
    for (const rq of quotas.list()) {
      if (rq.metadata.namespace !== namespace) continue;
      const key = `${namespace}/${rq.metadata.name}`;
      if (arrival) raiseOnly.add(key);
      else raiseOnly.delete(key);
      loop.enqueue(key);
    }
  };

  /** The shared cache of a counted kind, started (and its handlers added) on first use. */
  const cacheOf = (def: ResourceDef): Informer<KubeObject> => {
    const key = `${def.group}/${def.plural}`;
    let inf = watched.get(key);
    if (inf) return inf;
    inf = READ_IN_FULL(def) ? shared.get<KubeObject>(def) : shared.getShared<KubeObject>(def);
    watched.set(key, inf);
    const ev = evaluatorFor(def)!;
    shared.on(inf, {
      // Charged at admission; the recount only corrects a usage written from a cache without it.
      add(obj) {
        // Raise-only: a count from a cache that lags concurrent admissions must not hand their charges back.
        if (quotas.list().some((rq) => rq.metadata.namespace === obj.metadata.namespace)) enqueueNamespace(obj.metadata.namespace, true);
      },
      update(old, obj) {
        const namespace = obj.metadata.namespace;
        if (!quotas.list().some((rq) => rq.metadata.namespace === namespace)) return; // most writes: nothing to recount
        const marked = !old.metadata.deletionTimestamp && !!obj.metadata.deletionTimestamp;
        if (marked || !sameUsage(ev.usage(old, now()), ev.usage(obj, now()))) enqueueNamespace(namespace);
      },
      delete: (obj) => enqueueNamespace(obj.metadata.namespace),
    });
    return inf;
  };

  const loop = new ControlLoop({
    name: "resourcequota",
    async reconcile(key) {
      const rq = quotas.get(key);
      if (!rq || rq.metadata.deletionTimestamp) return;
      const kinds = countedKinds(resources, Object.keys(rq.spec?.hard ?? {}));
      const caches = new Map(kinds.map(({ def }) => [def, cacheOf(def)]));
      await Promise.all([...caches.values()].map((inf) => shared.start(inf)));
      const namespace = rq.metadata.namespace;
      const status = computeStatus(rq, (def) => caches.get(def)!.list().filter((o) => o.metadata.namespace === namespace), resources, now());
      if (raiseOnly.delete(key) && rq.status?.used) status.used = raiseUsage(rq.status.used as Record<string, string>, (status.used ?? {}) as Record<string, string>);
      const current = rq.status ?? {};
      if (equal(parseResourceList(current.hard), parseResourceList(status.hard)) && equal(parseResourceList(current.used), parseResourceList(status.used))) return;
      try {
        // With the cached resourceVersion: a charge admitted since makes this a 409, and the key is retried on fresh data.
        await api.updateStatus({ ...rq, status });
      } catch (e) {
        if (e instanceof ApiError && e.code === 404) return;
        throw e;
      }
    },
  });

  shared.on(quotas, {
    add: (rq) => loop.enqueue(`${rq.metadata.namespace}/${rq.metadata.name}`),
    update: (old, rq) => {
      // Its own status writes come back here: only a change of what it limits needs a recount.
      if (JSON.stringify(old.spec) !== JSON.stringify(rq.spec) || !rq.status?.hard) loop.enqueue(`${rq.metadata.namespace}/${rq.metadata.name}`);
    },
  });
  // The kinds nearly every quota counts are watched from the start; others when a quota asks.
  const initial = resources.filter((d) => sameResource(d, KINDS.pods) || sameResource(d, KINDS.services)).map(cacheOf);
  await Promise.all([shared.start(quotas), ...initial.map((inf) => shared.start(inf))]);
  loop.start();
  const resync = setInterval(() => {
    for (const rq of quotas.list()) loop.enqueue(`${rq.metadata.namespace}/${rq.metadata.name}`);
  }, opts.resyncMs ?? 5 * 60_000);
  return {
    async stop() {
      clearInterval(resync);
      await loop.stop();
      if (!opts.informers) shared.stop();
    },
  };
}

function sameUsage(a: Map<string, { nano: bigint }>, b: Map<string, { nano: bigint }>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, v] of a) if (b.get(k)?.nano !== v.nano) return false;
  return true;
}

/** Per resource, the larger of the charged and the counted usage. */
function raiseUsage(charged: Record<string, string>, counted: Record<string, string>): Record<string, string> {
  const c = parseResourceList(charged);
  const n = parseResourceList(counted);
  const out = { ...counted };
  for (const [name, q] of c) if ((n.get(name)?.nano ?? -1n) < q.nano) out[name] = charged[name]!;
  return out;
}
