// Runtime specs for a pod's containers: the pause container owns the network namespace (and
// with it hostname, DNS and /etc/hosts); app and init containers join it and its IPC namespace.
import type { Pod } from "../../api/resources/core/pod";
import type { Container } from "../../api/resources/core/podspec.schema";
import { cpuMillis, memoryBytes } from "../../api/quantity";
import type { ContainerSpec } from "../runtime/runtime";

export interface PauseOptions {
  image: string;
  network: string;
  clusterDns?: string;
  clusterDomain?: string;
}

export function dnsFor(pod: Pod, clusterDns: string | undefined, domain = "cluster.local"): ContainerSpec["dns"] {
  const policy = pod.spec?.dnsPolicy ?? "ClusterFirst";
  const ns = pod.metadata.namespace ?? "default";
  const cfg = pod.spec?.dnsConfig;
  const useCluster = clusterDns && (policy === "ClusterFirst" || (policy === "ClusterFirstWithHostNet" && pod.spec?.hostNetwork)) && !(policy === "ClusterFirst" && pod.spec?.hostNetwork);
  const servers = [...(useCluster ? [clusterDns!] : []), ...(cfg?.nameservers ?? [])];
  const searches = [...(useCluster ? [`${ns}.svc.${domain}`, `svc.${domain}`, domain] : []), ...(cfg?.searches ?? [])];
  const options = [...(useCluster ? ["ndots:5"] : []), ...(cfg?.options ?? []).map((o) => (o.value !== undefined ? `${o.name}:${o.value}` : (o.name ?? "")))];
  if (!servers.length && !searches.length && !options.length) return undefined;
  return { servers: servers.length ? servers : undefined, searches: searches.length ? searches : undefined, options: options.length ? options : undefined };
}

/**
 * The pod's /etc/resolv.conf when the kubelet decides its nameservers (ClusterFirst, or None with
 * dnsConfig). Docker would otherwise give containers on a user-defined network its own embedded
 * resolver (127.0.0.11) forwarding to them, which is not what Kubernetes pods see: upstream's
 * kubelet writes the file and mounts it into every container, and so does bramble.
 */
export function resolvConf(pod: Pod, clusterDns: string | undefined, domain?: string): string | undefined {
  if (pod.spec?.hostNetwork && (pod.spec.dnsPolicy ?? "ClusterFirst") !== "ClusterFirstWithHostNet" && pod.spec.dnsPolicy !== "None") return undefined;
  const dns = dnsFor(pod, clusterDns, domain);
  if (!dns?.servers?.length) return undefined;
  const lines = dns.servers.slice(0, 3).map((s) => `nameserver ${s}`);
  if (dns.searches?.length) lines.push(`search ${dns.searches.join(" ")}`);
  if (dns.options?.length) lines.push(`options ${dns.options.join(" ")}`);
  return lines.join("\n") + "\n";
}

export function pauseSpec(pod: Pod, o: PauseOptions, name: string, labels: Record<string, string>): ContainerSpec {
  const hostname = (pod.spec?.hostname ?? pod.metadata.name ?? "pod").slice(0, 63);
  return {
    name,
    image: o.image,
    labels,
    networkMode: pod.spec?.hostNetwork ? "host" : o.network,
    ipcMode: pod.spec?.hostIPC ? "host" : "shareable",
    pidMode: pod.spec?.hostPID ? "host" : undefined,
    hostname: pod.spec?.hostNetwork ? undefined : hostname,
    // A pod in a subdomain (a StatefulSet's, through its headless Service) knows its FQDN, as upstream's /etc/hosts says.
    domainname: pod.spec?.hostNetwork || !pod.spec?.subdomain ? undefined : `${pod.spec.subdomain}.${pod.metadata.namespace ?? "default"}.svc.${o.clusterDomain ?? "cluster.local"}`,
    dns: dnsFor(pod, o.clusterDns, o.clusterDomain),
    extraHosts: (pod.spec?.hostAliases ?? []).flatMap((a) => (a.hostnames ?? []).map((h) => `${h}:${a.ip}`)),
    // The pause container needs nothing: tiny and locked down.
    readOnlyRootfs: true,
    capDrop: ["ALL"],
  };
}

const userOf = (uid: number | undefined, gid: number | undefined) => (uid === undefined ? (gid === undefined ? undefined : `0:${gid}`) : gid === undefined ? String(uid) : `${uid}:${gid}`);

export interface AppSpecInput {
  pod: Pod;
  container: Container;
  name: string;
  labels: Record<string, string>;
  sandboxId: string;
  env: Record<string, string>;
  mounts: Array<{ hostPath: string; containerPath: string; readOnly: boolean }>;
}

export function appSpec(i: AppSpecInput): ContainerSpec {
  const { pod, container: c } = i;
  const sc = c.securityContext ?? {};
  const psc = pod.spec?.securityContext ?? {};
  const limits = c.resources?.limits ?? {};
  const requests = c.resources?.requests ?? {};
  const sandbox = `container:${i.sandboxId}`;
  const cpuRequest = requests.cpu !== undefined ? cpuMillis(requests.cpu) : undefined;
  return {
    name: i.name,
    image: c.image ?? "",
    entrypoint: c.command?.length ? c.command : undefined,
    cmd: c.args?.length ? c.args : undefined,
    env: i.env,
    workingDir: c.workingDir || undefined,
    labels: i.labels,
    mounts: i.mounts,
    networkMode: sandbox,
    ipcMode: pod.spec?.hostIPC ? "host" : sandbox,
    pidMode: pod.spec?.hostPID ? "host" : pod.spec?.shareProcessNamespace ? sandbox : undefined,
    memoryBytes: limits.memory !== undefined ? memoryBytes(limits.memory) : undefined,
    nanoCpus: limits.cpu !== undefined ? cpuMillis(limits.cpu) * 1_000_000 : undefined,
    // requests.cpu as a relative weight, like upstream's milliCPUToShares (minimum 2).
    cpuShares: cpuRequest !== undefined ? Math.max(2, Math.floor((cpuRequest * 1024) / 1000)) : undefined,
    user: userOf(sc.runAsUser ?? psc.runAsUser, sc.runAsGroup ?? psc.runAsGroup),
    readOnlyRootfs: sc.readOnlyRootFilesystem ?? false,
    privileged: sc.privileged ?? false,
    capAdd: sc.capabilities?.add,
    capDrop: sc.capabilities?.drop,
    tty: c.tty ?? false,
    stdin: c.stdin ?? false,
    stdinOnce: c.stdinOnce ?? false,
    stopSignal: c.lifecycle?.stopSignal,
  };
}
