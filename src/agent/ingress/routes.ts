// Which backend answers a request: the rules of every Ingress this node serves, merged, matched
// as the Ingress API specifies. Hosts: an exact host beats a `*.` wildcard, which covers exactly
// one DNS label (`*.example.com` matches `a.example.com`, not `example.com` nor `a.b.example.com`);
// a rule without a host matches every host. Paths: Exact matches the whole path; Prefix matches
// by `/`-separated elements (`/foo` matches `/foo` and `/foo/bar`, not `/foobar`; a trailing
// slash is ignored); ImplementationSpecific is treated as Prefix here. The longest matching path
// wins; at equal length Exact beats Prefix; between Ingresses the older one wins. Only the most
// specific host that has rules is consulted. Without a match the default backend of the oldest Ingress that has one answers, else nobody (404).
import type { Ingress, IngressBackend } from "../../api/resources/networking/ingress";

export interface Backend {
  namespace: string;
  service: string;
  /** A Service port number, or a Service port name. */
  port: number | string;
  /** "namespace/name" of the Ingress it comes from (for events and logs). */
  ingress: string;
}

interface PathRule {
  exact: boolean;
  /** Path elements of the rule's path ("/foo/bar/" → ["foo", "bar"]). */
  elements: string[];
  /** The rule's path as written, for Exact. */
  path: string;
  backend: Backend;
  /** The Ingress's age order (0 = oldest), then the path's place in it. */
  order: number;
}

export interface RouteTable {
  /** Host (lower-cased, "" for any host, "*.example.com" for a wildcard) → its paths, best first. */
  hosts: Map<string, PathRule[]>;
  defaultBackend?: Backend;
}

const elementsOf = (path: string) => path.split("/").filter((e) => e !== "");

function toBackend(ing: Ingress, b: IngressBackend | undefined): Backend | undefined {
  const svc = b?.service;
  if (!svc?.name) return undefined; // resource backends are not something bramble serves
  const port = svc.port?.name || svc.port?.number;
  if (port === undefined) return undefined;
  return { namespace: ing.metadata.namespace ?? "default", service: svc.name, port, ingress: `${ing.metadata.namespace}/${ing.metadata.name}` };
}

const byAge = (a: Ingress, b: Ingress) =>
  (a.metadata.creationTimestamp ?? "").localeCompare(b.metadata.creationTimestamp ?? "") || `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`);

export function buildRoutes(ingresses: readonly Ingress[]): RouteTable {
  const table: RouteTable = { hosts: new Map() };
  let order = 0;
  for (const ing of [...ingresses].sort(byAge)) {
    if (!table.defaultBackend) table.defaultBackend = toBackend(ing, ing.spec?.defaultBackend);
    for (const rule of ing.spec?.rules ?? []) {
      const host = (rule.host ?? "").toLowerCase();
      let list = table.hosts.get(host);
      if (!list) table.hosts.set(host, (list = []));
      for (const p of rule.http?.paths ?? []) {
        const backend = toBackend(ing, p.backend);
        if (!backend) continue;
        const path = p.path || "/";
        list.push({ exact: p.pathType === "Exact", elements: elementsOf(path), path, backend, order: order++ });
      }
    }
  }
  for (const list of table.hosts.values())
    list.sort((a, b) => pathLength(b) - pathLength(a) || Number(b.exact) - Number(a.exact) || a.order - b.order);
  return table;
}

/** Longer paths first: Exact by its characters, Prefix by its elements (joined, so "/a/b" ≈ 4). */
const pathLength = (r: PathRule) => (r.exact ? r.path.length : r.elements.length ? r.elements.join("/").length + 1 : 0);

function pathMatches(rule: PathRule, path: string, elements: string[]): boolean {
  if (rule.exact) return path === rule.path;
  if (rule.elements.length > elements.length) return false;
  return rule.elements.every((e, i) => elements[i] === e);
}

/** The request's host without a port, lower-cased ("Example.com:8080" → "example.com"). */
export function hostOf(hostHeader: string | null | undefined): string {
  let h = (hostHeader ?? "").toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colon = h.lastIndexOf(":");
  if (colon >= 0) h = h.slice(0, colon);
  return h.endsWith(".") ? h.slice(0, -1) : h;
}

/** The hosts a request's host may match, best first: itself, its one-label wildcard, any host. */
export function candidateHosts(host: string): string[] {
  const dot = host.indexOf(".");
  return dot > 0 ? [host, `*${host.slice(dot)}`, ""] : [host, ""];
}

export function route(table: RouteTable, hostHeader: string | null | undefined, path: string): Backend | undefined {
  const host = hostOf(hostHeader);
  const elements = elementsOf(path);
  for (const h of candidateHosts(host)) {
    const rules = table.hosts.get(h);
    if (!rules) continue;
    for (const r of rules) if (pathMatches(r, path, elements)) return r.backend;
    break; // the most specific host with rules decides (as a virtual host does): no path, no fallback to others
  }
  return table.defaultBackend;
}
