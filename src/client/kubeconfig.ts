// kubeconfig files: the admin one the server writes (cluster, context and user all named
// "default", like k3s) and reading one back, which bramble's own client and tests use.

import { chmodSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** The subset of a kubeconfig bramble writes and understands. */
export interface Kubeconfig {
  apiVersion: "v1";
  kind: "Config";
  clusters: { name: string; cluster: { server: string; "certificate-authority-data"?: string } }[];
  contexts: { name: string; context: { cluster: string; user: string; namespace?: string } }[];
  "current-context": string;
  preferences: Record<string, never>;
  users: { name: string; user: { token?: string; "client-certificate-data"?: string; "client-key-data"?: string } }[];
}

export interface AdminKubeconfigParams {
  /** https://<host>:<port>; IPv6 hosts must already be bracketed. */
  server: string;
  caCertPem: string;
  token: string;
  name?: string;
}

export function serverUrl(host: string, port: number): string {
  return `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
}

export function adminKubeconfig(p: AdminKubeconfigParams): Kubeconfig {
  const name = p.name ?? "default";
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster: { server: p.server, "certificate-authority-data": Buffer.from(p.caCertPem).toString("base64") } }],
    contexts: [{ name, context: { cluster: name, user: name } }],
    "current-context": name,
    preferences: {},
    users: [{ name, user: { token: p.token } }],
  };
}

export function renderKubeconfig(kc: Kubeconfig): string {
  return Bun.YAML.stringify(kc, null, 2) + "\n";
}

/** Writes mode 0600 (it holds an admin credential), atomically, creating parent directories. */
export function writeKubeconfig(path: string, kc: Kubeconfig): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, renderKubeconfig(kc), { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}

export function parseKubeconfig(text: string): Kubeconfig {
  const kc = Bun.YAML.parse(text) as Partial<Kubeconfig> | null;
  if (!kc || typeof kc !== "object" || !Array.isArray(kc.clusters) || !Array.isArray(kc.users) || !Array.isArray(kc.contexts)) {
    throw new Error("not a kubeconfig: missing clusters, users or contexts");
  }
  return { apiVersion: "v1", kind: "Config", preferences: {}, "current-context": "", ...kc } as Kubeconfig;
}

export function readKubeconfig(path: string): Kubeconfig {
  return parseKubeconfig(readFileSync(path, "utf8"));
}

/** What a client needs to connect, resolved through the current (or a named) context. */
export interface ResolvedCredentials {
  server: string;
  caCertPem?: string;
  token?: string;
  namespace: string;
}

export function resolveContext(kc: Kubeconfig, contextName = kc["current-context"]): ResolvedCredentials {
  const ctx = kc.contexts.find((c) => c.name === contextName);
  if (!ctx) throw new Error(`context "${contextName}" not found in kubeconfig`);
  const cluster = kc.clusters.find((c) => c.name === ctx.context.cluster);
  if (!cluster) throw new Error(`cluster "${ctx.context.cluster}" not found in kubeconfig`);
  const user = kc.users.find((u) => u.name === ctx.context.user);
  const caData = cluster.cluster["certificate-authority-data"];
  return {
    server: cluster.cluster.server,
    caCertPem: caData ? Buffer.from(caData, "base64").toString("utf8") : undefined,
    token: user?.user.token,
    namespace: ctx.context.namespace ?? "default",
  };
}
