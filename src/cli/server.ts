// `bramble server`: flags → ServerConfig → startServer(cfg). Nothing else happens here.

import { hostname } from "node:os";
import { join, resolve } from "node:path";
import type { ServerConfig } from "../server/config";
import { cidrContains, cidrsOverlap, firstServiceIp, nthAddress, parseCidr } from "../machinery/cidr";
import {
  FlagError,
  boolFlag,
  cidr,
  datastoreUrl,
  durationSeconds,
  ipv4,
  nodeName,
  nonNegativeInt,
  oneOf,
  port,
  portRange,
  stringFlag,
  token,
  writableDir,
  type RawFlags,
} from "./flags";
import { defaultDataDir, hostFacts, type HostFacts } from "./host";
import { scheduleError } from "../api/resources/batch/cron";
import { IMAGE_GC_AND_LOG_FLAGS, kubeletTuningFromFlags, type KubeletTuning } from "./kubelet-flags";
import { INGRESS_FLAGS, ingressPortsFromFlags } from "./ingress-flags";
import type { IngressPorts } from "../agent/networking";
import { EVICTION_FLAGS, evictionConfigFromFlags } from "./eviction-flags";
import type { EvictionConfig } from "../agent/eviction/thresholds";

export interface FlagSpec {
  name: string;
  /** Placeholder for the value in --help; absent for boolean flags. */
  value?: string;
  description: string;
}

/** Every flag of `bramble server`, as shown by --help (names follow k3s). */
export const SERVER_FLAGS: FlagSpec[] = [
  { name: "data-dir", value: "<path>", description: "Folder for all state (default: /var/lib/bramble as root, ~/.bramble otherwise)" },
  { name: "bind-address", value: "<ip>", description: "IPv4 address to listen on (default: 0.0.0.0, all interfaces)" },
  { name: "https-listen-port", value: "<port>", description: "HTTPS port of the API server (default: 6443)" },
  { name: "advertise-address", value: "<ip>", description: "Address put in kubeconfigs and the certificate (default: --bind-address if set, else the first non-loopback IPv4, else 127.0.0.1)" },
  { name: "datastore-endpoint", value: "<url>", description: "Store URL (default: file:<data-dir>/server/state.db, embedded libSQL)" },
  { name: "cluster-cidr", value: "<cidr>", description: "IPv4 range for pod IPs (default: 10.42.0.0/16)" },
  { name: "service-cidr", value: "<cidr>", description: "IPv4 range for Service ClusterIPs (default: 10.43.0.0/16)" },
  { name: "cluster-dns", value: "<ip>", description: "Cluster DNS address given to pods, inside --service-cidr (default: the 10th address of --service-cidr, 10.43.0.10)" },
  { name: "cluster-domain", value: "<domain>", description: "Cluster domain (default: cluster.local)" },
  { name: "flannel-backend", value: "<host-gw|none>", description: "Pod network between nodes: host-gw routes on one L2 network (default), or none (pods stay on Docker's default bridge, no cross-node pod traffic)" },
  { name: "disable-kube-proxy", description: "Do not program Services into iptables on the nodes" },
  { name: "disable-network-policy", description: "Do not enforce NetworkPolicies on the nodes" },
  { name: "disable", value: "<servicelb,coredns,local-storage,ingress,dashboard>", description: "Built-in parts to leave off: servicelb (LoadBalancer addresses), coredns (cluster DNS on the nodes), local-storage (the local-path StorageClass and its provisioner), ingress (the built-in ingress controller), dashboard (the web dashboard at /dashboard/)" },
  { name: "default-local-storage-path", value: "<path>", description: "Where the local-path provisioner makes volumes on the nodes (default: <data-dir>/storage)" },
  { name: "service-node-port-range", value: "<from-to>", description: "Port range for NodePort Services (default: 30000-32767)" },
  { name: "write-kubeconfig", value: "<path>", description: "Also write the admin kubeconfig here (always written to <data-dir>/server/admin.kubeconfig)" },
  { name: "disable-agent", description: "Run only the control plane, no embedded agent (this machine is then not a node)" },
  { name: "token", value: "<token>", description: "Shared secret for joining nodes, a secret or K10<ca hash>::server:<secret> (default: generated on first start, kept in <data-dir>/server/token in the K10 form)" },
  { name: "node-name", value: "<name>", description: "Name of this server's own node, run by the embedded agent (default: the hostname)" },
  { name: "node-ip", value: "<ip>", description: "InternalIP of this server's own node (default: --advertise-address, or the first IPv4 when that is loopback)" },
  { name: "scheduler-policy", value: "<binpack|spread>", description: "Pod placement: binpack fills the fullest node that fits (default), spread the emptiest" },
  { name: "node-monitor-grace-period", value: "<duration>", description: "How long a node may miss heartbeats before it is marked NotReady/Unknown (default: 20s)" },
  { name: "secrets-encryption", description: "Store Secrets encrypted (AES-GCM, keys in <data-dir>/server/cred/encryption-config.json); stays on once that file exists" },
  { name: "horizontal-pod-autoscaler-sync-period", value: "<duration>", description: "How often every HorizontalPodAutoscaler is evaluated (default: 15s)" },
  { name: "horizontal-pod-autoscaler-downscale-stabilization", value: "<duration>", description: "Scale-down stabilization window of HorizontalPodAutoscalers without a behavior (default: 5m)" },
  { name: "horizontal-pod-autoscaler-cpu-initialization-period", value: "<duration>", description: "How long after a pod starts its CPU readings may be skipped as start-up ones (default: 5m)" },
  { name: "default-not-ready-toleration-seconds", value: "<seconds>", description: "How long pods stay on an unreachable node before they are evicted and recreated elsewhere (default: 10)" },
  { name: "snapshot-schedule-cron", value: "<spec>", description: 'When to snapshot the embedded datastore into <data-dir>/server/snapshots/, in cron format (default: "0 */12 * * *")' },
  { name: "snapshot-retention", value: "<count>", description: "How many scheduled snapshots to keep; older ones are removed (default: 5)" },
  { name: "disable-snapshots", description: "Take no scheduled snapshots (`bramble backup` still works)" },
  ...IMAGE_GC_AND_LOG_FLAGS,
  ...INGRESS_FLAGS,
  // kubelet's eviction flags, for the embedded agent.
  ...EVICTION_FLAGS,
];

export const DEFAULTS = {
  bindAddress: "0.0.0.0",
  httpsListenPort: 6443,
  clusterCidr: "10.42.0.0/16",
  serviceCidr: "10.43.0.0/16",
  serviceNodePortRange: [30000, 32767] as [number, number],
  clusterDomain: "cluster.local",
  podNetwork: "host-gw" as const,
  schedulerPolicy: "binpack" as const,
  nodeMonitorGracePeriodSeconds: 20,
  notReadyTolerationSeconds: 10,
  snapshotScheduleCron: "0 */12 * * *",
  snapshotRetention: 5,
};

/** Pure except for creating/checking the data directory, which is part of validating it. */
export function serverConfigFromFlags(raw: RawFlags, host: HostFacts): ServerConfig {
  const known = new Set(SERVER_FLAGS.map((f) => f.name));
  for (const name of Object.keys(raw)) if (!known.has(name)) throw new FlagError(name, "unknown flag");

  const dataDir = writableDir("data-dir", stringFlag(raw, "data-dir") ?? defaultDataDir(host));
  const bindText = stringFlag(raw, "bind-address");
  const bindAddress = bindText === undefined ? DEFAULTS.bindAddress : ipv4("bind-address", bindText, { allowUnspecified: true });
  const portText = stringFlag(raw, "https-listen-port");
  const httpsListenPort = portText === undefined ? DEFAULTS.httpsListenPort : port("https-listen-port", portText);
  const advertiseText = stringFlag(raw, "advertise-address");
  const advertiseAddress =
    advertiseText !== undefined
      ? ipv4("advertise-address", advertiseText, { allowUnspecified: false })
      : bindAddress !== "0.0.0.0"
        ? bindAddress
        : (host.ipv4Addresses[0] ?? "127.0.0.1");

  const clusterCidr = cidr("cluster-cidr", stringFlag(raw, "cluster-cidr") ?? DEFAULTS.clusterCidr);
  const serviceCidr = cidr("service-cidr", stringFlag(raw, "service-cidr") ?? DEFAULTS.serviceCidr);
  if (parseCidr(serviceCidr).prefix > 30) {
    throw new FlagError("service-cidr", `"${serviceCidr}" is too small; it needs room for the kubernetes Service IP (/30 or larger)`);
  }
  if (cidrsOverlap(parseCidr(clusterCidr), parseCidr(serviceCidr))) {
    throw new FlagError("service-cidr", `"${serviceCidr}" overlaps --cluster-cidr "${clusterCidr}"`);
  }
  const clusterDns = clusterDnsFlag(stringFlag(raw, "cluster-dns"), serviceCidr);
  const clusterDomain = domainFlag(stringFlag(raw, "cluster-domain") ?? DEFAULTS.clusterDomain);
  const backendText = stringFlag(raw, "flannel-backend");
  const podNetwork = backendText === undefined ? DEFAULTS.podNetwork : oneOf("flannel-backend", backendText, ["host-gw", "none"] as const);
  const disabled = disableFlag(stringFlag(raw, "disable"));
  const rangeText = stringFlag(raw, "service-node-port-range");
  const serviceNodePortRange = rangeText === undefined ? DEFAULTS.serviceNodePortRange : portRange("service-node-port-range", rangeText);

  const storeText = stringFlag(raw, "datastore-endpoint");
  const datastoreEndpoint = storeText === undefined ? `file:${join(dataDir, "server", "state.db")}` : datastoreUrl("datastore-endpoint", storeText);
  const kubeconfigText = stringFlag(raw, "write-kubeconfig");
  if (kubeconfigText === "") throw new FlagError("write-kubeconfig", "a path is required");
  const tokenText = stringFlag(raw, "token");
  const policyText = stringFlag(raw, "scheduler-policy");
  const graceText = stringFlag(raw, "node-monitor-grace-period");
  const tolerationText = stringFlag(raw, "default-not-ready-toleration-seconds");
  const retentionText = stringFlag(raw, "snapshot-retention");
  const snapshotRetention = retentionText === undefined ? DEFAULTS.snapshotRetention : nonNegativeInt("snapshot-retention", retentionText);
  if (snapshotRetention < 1) throw new FlagError("snapshot-retention", "must be at least 1 (use --disable-snapshots to take none)");
  const snapshotCron = stringFlag(raw, "snapshot-schedule-cron") ?? DEFAULTS.snapshotScheduleCron;
  const cronProblem = scheduleError(snapshotCron);
  if (cronProblem) throw new FlagError("snapshot-schedule-cron", `"${snapshotCron}" is not a schedule: ${cronProblem}`);
  const hpaMs = (flag: string) => {
    const t = stringFlag(raw, flag);
    if (t === undefined) return undefined;
    const ms = Math.round(durationSeconds(flag, t) * 1000);
    if (flag.endsWith("sync-period") && ms < 1000) throw new FlagError(flag, `"${t}" must be at least 1s`);
    return ms;
  };
  const hpa = {
    syncPeriodMs: hpaMs("horizontal-pod-autoscaler-sync-period"),
    downscaleStabilizationMs: hpaMs("horizontal-pod-autoscaler-downscale-stabilization"),
    cpuInitializationPeriodMs: hpaMs("horizontal-pod-autoscaler-cpu-initialization-period"),
  };

  return {
    dataDir,
    bindAddress,
    httpsListenPort,
    advertiseAddress,
    datastoreEndpoint,
    clusterCidr,
    serviceCidr,
    serviceNodePortRange,
    clusterDns,
    clusterDomain,
    podNetwork,
    serviceProxy: !boolFlag(raw, "disable-kube-proxy"),
    networkPolicy: !boolFlag(raw, "disable-network-policy"),
    clusterDnsServer: !disabled.has("coredns"),
    serviceLB: !disabled.has("servicelb"),
    localStorage: !disabled.has("local-storage"),
    localStoragePath: localStoragePathFlag(stringFlag(raw, "default-local-storage-path")),
    ingress: !disabled.has("ingress"),
    dashboard: !disabled.has("dashboard"),
    writeKubeconfig: kubeconfigText === undefined ? undefined : resolve(kubeconfigText),
    disableAgent: boolFlag(raw, "disable-agent"),
    secretsEncryption: boolFlag(raw, "secrets-encryption"),
    token: tokenText === undefined ? undefined : token("token", tokenText),
    schedulerPolicy: policyText === undefined ? DEFAULTS.schedulerPolicy : oneOf("scheduler-policy", policyText, ["binpack", "spread"] as const),
    nodeMonitorGracePeriodSeconds: graceText === undefined ? DEFAULTS.nodeMonitorGracePeriodSeconds : durationSeconds("node-monitor-grace-period", graceText),
    notReadyTolerationSeconds:
      tolerationText === undefined ? DEFAULTS.notReadyTolerationSeconds : nonNegativeInt("default-not-ready-toleration-seconds", tolerationText),
    snapshots: boolFlag(raw, "disable-snapshots")
      ? false
      : { cron: snapshotCron, retention: snapshotRetention, node: nodeName("node-name", stringFlag(raw, "node-name"), hostname()) },
    ...(Object.values(hpa).some((v) => v !== undefined) && { hpa }),
  };
}

/** --cluster-dns must be a Service address, or pods would ask a resolver no node answers as. */
function clusterDnsFlag(text: string | undefined, serviceCidr: string): string {
  if (text === undefined) return nthAddress(parseCidr(serviceCidr), 10);
  const ip = ipv4("cluster-dns", text, { allowUnspecified: false });
  if (!cidrContains(parseCidr(serviceCidr), ip)) throw new FlagError("cluster-dns", `"${ip}" is not inside --service-cidr "${serviceCidr}"`);
  if (ip === firstServiceIp(serviceCidr)) throw new FlagError("cluster-dns", `"${ip}" is the kubernetes Service's address`);
  return ip;
}

function domainFlag(text: string): string {
  const domain = text.replace(/\.$/, "");
  const label = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
  if (!domain || !domain.split(".").every((l) => label.test(l))) throw new FlagError("cluster-domain", `"${text}" is not a DNS domain (lowercase labels separated by dots)`);
  return domain;
}

/** An absolute folder: agents make volumes under it on their own disks (it need not exist here). */
function localStoragePathFlag(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  if (!text.startsWith("/")) throw new FlagError("default-local-storage-path", `"${text}" is not an absolute path`);
  return resolve(text);
}

/** k3s's --disable takes a comma list (and may repeat in k3s; here once). */
function disableFlag(text: string | undefined): Set<string> {
  const known = ["servicelb", "coredns", "local-storage", "ingress", "dashboard"];
  const items = (text ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (!known.includes(item)) throw new FlagError("disable", `"${item}" is not a part bramble can leave off (${known.join(", ")})`);
  return new Set(items);
}

/** The embedded agent's node identity (k3s takes --node-name/--node-ip on servers too) and kubelet flags. */
export function embeddedNodeFromFlags(raw: RawFlags): { nodeName: string; nodeIp?: string; eviction?: EvictionConfig; ingress: IngressPorts } & KubeletTuning {
  const ipText = stringFlag(raw, "node-ip");
  return {
    eviction: evictionConfigFromFlags(raw),
    nodeName: nodeName("node-name", stringFlag(raw, "node-name"), hostname()),
    nodeIp: ipText === undefined ? undefined : ipv4("node-ip", ipText, { allowUnspecified: false }),
    ingress: ingressPortsFromFlags(raw),
    ...kubeletTuningFromFlags(raw),
  };
}

/** argv that runs this bramble: the compiled binary itself, or bun with the entry file. */
export function brambleCommand(): string[] {
  return Bun.main.startsWith("/$bunfs/") ? [process.execPath] : [process.execPath, Bun.main];
}

/** Runs until SIGTERM/SIGINT, then shuts down gracefully and exits 0. */
export async function runServer(raw: RawFlags): Promise<void> {
  const cfg = serverConfigFromFlags(raw, hostFacts());
  // Scheduled snapshots are copied by a `bramble backup` process, off the server's thread.
  if (cfg.snapshots) cfg.snapshots.command = brambleCommand();
  const node = embeddedNodeFromFlags(raw);
  // Loaded only now: `bramble version` or a flag typo should not pay for opening libSQL's
  // native addon and building the API server's routes.
  const { startServer, defaultServerParts } = await import("../server/server");
  const { embeddedAgent } = await import("./embedded-agent");
  const server = await startServer(cfg, { ...defaultServerParts, startEmbeddedAgent: embeddedAgent(hostFacts(), node) });
  const shutdown = () => server.stop().then(() => process.exit(0), () => process.exit(1));
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}
