// Counts and times the datastore operations the API server makes. Upstream's etcd_request_*
// metrics name etcd calls; bramble's store may be libSQL, PostgreSQL or etcd, so these are
// bramble_store_* with the operation as a label (get, list, create, update, delete).
import { metrics } from "../../machinery/prometheus";
import type { Store } from "./store";

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
const total = metrics.counter("bramble_store_requests_total", "Datastore operations by operation and result (ok or error).", ["operation", "result"]);
const duration = metrics.histogram("bramble_store_request_duration_seconds", "Datastore operation latency in seconds by operation.", ["operation"], LATENCY_BUCKETS);

type Op = "get" | "list" | "create" | "update" | "delete";

/** The store with its get, list, create, update and delete counted and timed; everything else as it is. */
export function instrumentStore(store: Store): Store {
  const timed = <A extends unknown[], R>(op: Op, f: (...a: A) => Promise<R>) => {
    const ok = total.child([op, "ok"]);
    const failed = total.child([op, "error"]);
    const latency = duration.child([op]);
    return (...a: A): Promise<R> => {
      const start = performance.now();
      return f(...a).then(
        (r) => {
          ok.inc();
          latency.observe((performance.now() - start) / 1000);
          return r;
        },
        (e: unknown) => {
          failed.inc();
          latency.observe((performance.now() - start) / 1000);
          throw e;
        },
      );
    };
  };
  return {
    get: timed("get", store.get.bind(store)),
    list: timed("list", store.list.bind(store)),
    create: timed("create", store.create.bind(store)),
    update: timed("update", store.update.bind(store)),
    delete: timed("delete", store.delete.bind(store)),
    watch: store.watch.bind(store),
    currentRevision: store.currentRevision.bind(store),
    compactedRevision: store.compactedRevision.bind(store),
    compact: store.compact.bind(store),
    ...(store.rewriteValues && { rewriteValues: store.rewriteValues.bind(store) }),
    flush: store.flush.bind(store),
    close: store.close.bind(store),
  };
}
