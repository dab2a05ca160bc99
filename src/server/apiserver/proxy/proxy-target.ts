// The `id` of a proxy request (the name segment before /proxy) and the address it leads to, as
// kube-apiserver reads them: net.SplitSchemeNamePort splits `NAME`, `NAME:PORT` and
// `SCHEME:NAME:PORT` (scheme http, https or empty), then the registry's ResourceLocation picks
// the address — a pod's IP, a ready endpoint of a Service, a node's agent. Errors carry
// upstream's codes and wording.
import { badRequest } from "../../../api/errors";
import { SERVING_CERT_ANNOTATION } from "../../../api/kubelet-api";
import type { Endpoints } from "../../../api/resources/core/endpoints";
import type { Node } from "../../../api/resources/core/node";
import type { Pod } from "../../../api/resources/core/pod";
import type { Service } from "../../../api/resources/core/service";
import type { ApiContext } from "../handlers/context";
import { unavailable } from "./target";

export interface SchemeNamePort {
  scheme: "" | "http" | "https";
  name: string;
  port: string;
}

/** k8s.io/apimachinery/pkg/util/net.SplitSchemeNamePort; undefined where upstream says invalid. */
export function splitSchemeNamePort(id: string): SchemeNamePort | undefined {
  const parts = id.split(":");
  let scheme = "";
  let name: string;
  let port = "";
  if (parts.length === 1) name = parts[0]!;
  else if (parts.length === 2) [name, port] = parts as [string, string];
  else if (parts.length === 3) [scheme, name, port] = parts as [string, string, string];
  else return undefined;
  if (!name || !["", "http", "https"].includes(scheme)) return undefined;
  return { scheme: scheme as SchemeNamePort["scheme"], name, port };
}

/** Where a proxied request goes. */
export interface ProxyLocation {
  scheme: "http" | "https";
  /** host[:port] as upstream's url.URL.Host holds it (IPv6 in brackets). */
  host: string;
  hostname: string;
  port: number;
  /** For a node's agent: the API server's credential and the agent's pinned certificate. */
  agent?: { node: string; pinnedCertPem: string };
}

const joinHostPort = (ip: string, port: string) => {
  const h = ip.includes(":") ? `[${ip}]` : ip;
  return port ? `${h}:${port}` : h;
};

function location(scheme: SchemeNamePort["scheme"], ip: string, port: string, agent?: ProxyLocation["agent"]): ProxyLocation {
  const s = scheme || "http";
  const n = port ? Number(port) : s === "https" ? 443 : 80;
  // Go's dialer takes a service name ("http") as a port; bramble takes numbers only.
  if (!Number.isInteger(n) || n < 1 || n > 65535 || (port && !/^\d+$/.test(port))) throw badRequest(`invalid port ${JSON.stringify(port)}: must be a number between 1 and 65535`);
  return { scheme: s, host: joinHostPort(ip, port), hostname: ip, port: n, ...(agent && { agent }) };
}

/** Go's net.IP.IsGlobalUnicast for the addresses pods get: not loopback, link-local, multicast, unspecified or broadcast. */
export function isGlobalUnicast(ip: string): boolean {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    if (v4.slice(1).some((o) => Number(o) > 255)) return false;
    return !(a === 0 || a === 127 || (a === 169 && b === 254) || a >= 224 || ip === "255.255.255.255");
  }
  if (!ip.includes(":") || !/^[0-9a-fA-F:.]+$/.test(ip)) return false;
  const lower = ip.toLowerCase();
  return !(lower === "::" || lower === "::1" || lower.startsWith("fe8") || lower.startsWith("fe9") || lower.startsWith("fea") || lower.startsWith("feb") || lower.startsWith("ff"));
}

/** pod.ResourceLocation: the pod's IP and the asked port, or its first declared container port. */
export function podLocation(ctx: ApiContext, namespace: string, id: string): ProxyLocation {
  const parsed = splitSchemeNamePort(id);
  if (!parsed) throw badRequest(`invalid pod request ${JSON.stringify(id)}`);
  const pod = ctx.objects.get(ctx.resource("", "pods"), namespace, parsed.name) as Pod;
  let port = parsed.port;
  if (!port) port = String((pod.spec?.containers ?? []).find((c) => c.ports?.length)?.ports?.[0]?.containerPort ?? "");
  else if (!/^\d+$/.test(port)) {
    // A port name: the container port of that name (upstream leaves it to Go's dialer, which only knows /etc/services).
    const named = (pod.spec?.containers ?? []).flatMap((c) => c.ports ?? []).find((p) => p.name === port);
    if (!named) throw badRequest(`pod ${parsed.name} has no container port named ${JSON.stringify(port)}`);
    port = String(named.containerPort);
  }
  const ip = pod.status?.podIP ?? pod.status?.podIPs?.[0]?.ip ?? "";
  if (!isGlobalUnicast(ip)) throw badRequest("address not allowed");
  return location(parsed.scheme, ip, port);
}

/**
 * The Service storage's ResourceLocation: a port number is turned into the Service port's name,
 * then a ready address of the Endpoints subset that has a port of that name, checked against
 * its pod (it must still exist and hold that IP).
 */
export function serviceLocation(ctx: ApiContext, namespace: string, id: string, pick: (n: number) => number = (n) => Math.floor(Math.random() * n)): ProxyLocation {
  const parsed = splitSchemeNamePort(id);
  if (!parsed) throw badRequest(`invalid service request ${JSON.stringify(id)}`);
  const { scheme, name } = parsed;
  let portName = parsed.port;
  if (/^-?\d+$/.test(portName)) {
    const svc = ctx.objects.get(ctx.resource("", "services"), namespace, name) as Service;
    const found = (svc.spec?.ports ?? []).find((p) => p.port === Number(portName));
    if (!found) throw unavailable(`no service port ${Number(portName)} found for service ${JSON.stringify(name)}`);
    portName = found.name ?? "";
  }
  const eps = ctx.objects.get(ctx.resource("", "endpoints"), namespace, name) as Endpoints;
  const subsets = eps.subsets ?? [];
  if (!subsets.length) throw unavailable(`no endpoints available for service ${JSON.stringify(name)}`);
  const pods = ctx.resource("", "pods");
  const start = pick(subsets.length);
  for (let i = 0; i < subsets.length; i++) {
    const ss = subsets[(start + i) % subsets.length]!;
    const addresses = ss.addresses ?? [];
    if (!addresses.length) continue;
    for (const p of ss.ports ?? []) {
      if ((p.name ?? "") !== portName) continue;
      const first = pick(addresses.length);
      for (let t = 0; t < addresses.length; t++) {
        const a = addresses[(first + t) % addresses.length]!;
        const ref = a.targetRef;
        if (!ref || ref.kind !== "Pod" || ref.namespace !== namespace || !ref.name) continue;
        const pod = ctx.objects.tryGet(pods, namespace, ref.name) as Pod | undefined;
        const ips = pod?.status?.podIPs?.map((x) => x.ip) ?? (pod?.status?.podIP ? [pod.status.podIP] : []);
        if (!ips.includes(a.ip)) continue;
        return location(scheme, a.ip, String(p.port));
      }
    }
  }
  throw unavailable(`no endpoints available for service ${JSON.stringify(id)}`);
}

/**
 * node.ResourceLocation: `NAME` or `NAME:<agent port>` is the node's agent, reached with the API
 * server's credential and trusted by its pinned certificate; another port is that port on the
 * node's address, without credentials.
 */
export function nodeLocation(ctx: ApiContext, id: string): ProxyLocation {
  const parsed = splitSchemeNamePort(id);
  if (!parsed) throw badRequest(`invalid node request ${JSON.stringify(id)}`);
  const node = ctx.objects.get(ctx.resource("", "nodes"), undefined, parsed.name) as Node;
  const addresses = node.status?.addresses ?? [];
  const address = (addresses.find((a) => a.type === "InternalIP") ?? addresses.find((a) => a.type === "ExternalIP"))?.address;
  if (!address) throw unavailable(`no preferred addresses found; known addresses: [${addresses.map((a) => `{${a.type} ${a.address}}`).join(" ")}]`);
  const agentPort = node.status?.daemonEndpoints?.kubeletEndpoint?.Port;
  if (parsed.port === "" || parsed.port === String(agentPort)) {
    if (!agentPort) throw unavailable(`node ${JSON.stringify(parsed.name)} does not advertise an agent endpoint (daemonEndpoints.kubeletEndpoint.Port)`);
    if (parsed.scheme === "http") throw badRequest(`the agent on node ${JSON.stringify(parsed.name)} serves HTTPS only`);
    const pinnedCertPem = node.metadata.annotations?.[SERVING_CERT_ANNOTATION];
    if (!pinnedCertPem) throw unavailable(`node ${JSON.stringify(parsed.name)} has not published its serving certificate (annotation ${SERVING_CERT_ANNOTATION})`);
    return location("https", address, String(agentPort), { node: parsed.name, pinnedCertPem });
  }
  return location(parsed.scheme, address, parsed.port);
}

