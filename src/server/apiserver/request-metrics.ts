// kube-apiserver's request metrics: apiserver_request_total and apiserver_request_duration_seconds
// with upstream's labels and buckets, and apiserver_longrunning_requests for open watches.
// Labels come from the path with one split: a group, version or resource the server does not
// serve is reported as "" so a scanner cannot grow the series without bound.
import { extendKey, metrics, seriesKey } from "../../machinery/prometheus";

const LABELS = ["verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component"] as const;

export const requestTotal = metrics.counter("apiserver_request_total", "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.", [...LABELS, "code"]);
export const requestDuration = metrics.histogram(
  "apiserver_request_duration_seconds",
  "Response latency distribution in seconds for each verb, dry run value, group, version, resource, subresource, scope and component.",
  LABELS,
  [0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60],
);
const longRunning = metrics.gauge("apiserver_longrunning_requests", "Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component. Not all requests are tracked this way.", [
  "verb",
  "group",
  "version",
  "resource",
  "subresource",
  "scope",
  "component",
]);

const COMPONENT = "apiserver";
/** Subresources reported by name; any other is "". */
const SUBRESOURCES = new Set(["status", "scale", "binding", "eviction", "log", "exec", "attach", "proxy", "portforward", "token", "ephemeralcontainers", "finalize", "approval"]);
/** Served as upstream's CONNECT verb. */
const CONNECT = new Set(["exec", "attach", "proxy", "portforward"]);

/**
 * The label values (without code) of a request; `served` says whether group/version/plural is a
 * resource of this server. Pure and allocation-light: one split of the path.
 */
export function requestLabels(method: string, path: string, search: string, contentType: string | null, served: (group: string, version: string, plural: string) => boolean): string[] {
  const parts = path.split("/");
  // parts[0] is "" (the path starts with "/").
  let group = "";
  let version = "";
  let at: number;
  if (parts[1] === "api" && parts.length > 2) {
    version = parts[2]!;
    at = 3;
  } else if (parts[1] === "apis" && parts.length > 3) {
    group = parts[2]!;
    version = parts[3]!;
    at = 4;
  } else return [nonResourceVerb(method), "", "", "", "", "", "", COMPONENT];
  let namespaced = false;
  // namespaces/<name>/status and /finalize are subresources of the Namespace (upstream's RequestInfo).
  const next = parts[at + 2];
  if (parts[at] === "namespaces" && next !== undefined && next !== "" && next !== "status" && next !== "finalize") {
    namespaced = true;
    at += 2;
  }
  const plural = parts[at] ?? "";
  const name = parts[at + 1];
  const sub = parts[at + 2];
  const known = plural !== "" && served(group, version, plural);
  if (!known) {
    const groupKnown = served(group, version, "");
    return [nonResourceVerb(method), dryRun(search), groupKnown ? group : "", groupKnown ? version : "", "", "", "", COMPONENT];
  }
  const named = name !== undefined && name !== "";
  const subresource = named && sub !== undefined && SUBRESOURCES.has(sub) ? sub : "";
  const scope = named ? "resource" : namespaced ? "namespace" : "cluster";
  return [verbOf(method, search, named, subresource, contentType), dryRun(search), group, version, plural, subresource, scope, COMPONENT];
}

function verbOf(method: string, search: string, named: boolean, subresource: string, contentType: string | null): string {
  if (CONNECT.has(subresource)) return "CONNECT";
  switch (method) {
    case "GET":
    case "HEAD":
      if (search.includes("watch=") && /[?&]watch=(1|true|True)(&|$)/.test(search)) return "WATCH";
      return named ? "GET" : "LIST";
    case "PATCH":
      return contentType?.startsWith("application/apply-patch") ? "APPLY" : "PATCH";
    case "POST":
    case "PUT":
    case "DELETE":
      return method;
    default:
      return "other";
  }
}

const nonResourceVerb = (method: string) => (method === "GET" || method === "HEAD" || method === "POST" || method === "PUT" || method === "PATCH" || method === "DELETE" ? method : "other");

/** Upstream's label value: the dryRun query values, "" when absent ("All" when asked). */
const dryRun = (search: string) => (search.includes("dryRun=") ? "All" : "");

/** Counts one finished request. `startMs` is a performance.now() reading. */
export function recordRequest(labels: string[], code: number, startMs: number) {
  const key = seriesKey(labels);
  requestDuration.observeByKey(key, (performance.now() - startMs) / 1000);
  requestTotal.incByKey(extendKey(key, String(code)));
}

/** Labels of an open watch, as apiserver_longrunning_requests carries them. */
export function watchLabels(group: string, version: string, plural: string, namespace: string | undefined, name: string | undefined): string[] {
  return ["WATCH", group, version, plural, "", name !== undefined ? "resource" : namespace !== undefined ? "namespace" : "cluster", COMPONENT];
}

export function watchStarted(labels: string[]) {
  longRunning.inc(labels);
}

export function watchEnded(labels: string[]) {
  longRunning.dec(labels);
}
