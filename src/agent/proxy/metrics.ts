// kube-proxy's sync metrics, with upstream's names and buckets.
import { exponentialBuckets, metrics } from "../../machinery/prometheus";

const duration = metrics.histogram("kubeproxy_sync_proxy_rules_duration_seconds", "SyncProxyRules latency in seconds", [], exponentialBuckets(0.001, 2, 15));
const lastSync = metrics.gauge("kubeproxy_sync_proxy_rules_last_timestamp_seconds", "The last time proxy rules were successfully synced");
const NO_LABELS: string[] = [];

/** A sync that wrote rules (or failed trying), started at `startMs` (performance.now()). */
export function recordSync(ok: boolean, startMs: number) {
  duration.observeSince(NO_LABELS, startMs);
  if (ok) lastSync.set(NO_LABELS, Date.now() / 1000);
}
