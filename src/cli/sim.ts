// `bramble sim`: flags → SimConfig → startSim(cfg). Nothing else happens here.

import { existsSync } from "node:fs";
import { join } from "node:path";
import { isDns1123Subdomain, isQualifiedName, isValidLabelValue } from "../api/validation";
import { readKubeconfig, resolveContext } from "../client/kubeconfig";
import { parseCidr } from "../machinery/cidr";
import { parseQuantity } from "../api/quantity";
import { MAX_SIM_NODES } from "../agent/sim/addresses";
import { LEASE_DURATION_MS, SIM_DEFAULTS as DEFAULTS, type SimConfig } from "../agent/sim/config";
import { cidr, FlagError, stringFlag, type RawFlags } from "./flags";
import type { FlagSpec } from "./server";


export const SIM_FLAGS: FlagSpec[] = [
  { name: "kubeconfig", value: "<path>", description: "Admin kubeconfig of the cluster (default: $KUBECONFIG, else ~/.kube/config)" },
  { name: "nodes", value: "<n>", description: "Number of simulated nodes (default: 1)" },
  { name: "prefix", value: "<name>", description: "Node names are <prefix>-0 ... <prefix>-<n-1> (default: sim)" },
  { name: "cpu", value: "<quantity>", description: "CPU capacity per node (default: 4)" },
  { name: "memory", value: "<quantity>", description: "Memory capacity per node (default: 8Gi)" },
  { name: "pods", value: "<n>", description: "Pod capacity per node (default: 110)" },
  { name: "node-labels", value: "<k=v,...>", description: "Extra labels on every simulated node" },
  { name: "heartbeat-interval", value: "<duration>", description: "How often each node renews its Lease (default: 10s)" },
  { name: "node-status-report-interval", value: "<duration>", description: "How often an unchanged node status is reported anyway (default: 5m)" },
  { name: "cluster-cidr", value: "<cidr>", description: "Range for per-node pod CIDRs when the control plane assigns none (default: 10.42.0.0/16)" },
  { name: "pod-workers", value: "<n>", description: "Pod status writes in flight at once (default: 32)" },
];

/** kubectl's default: the first $KUBECONFIG entry that exists, else ~/.kube/config. */
export function defaultKubeconfig(env: Record<string, string | undefined>, homeDir: string): string {
  const entries = (env.KUBECONFIG ?? "").split(":").filter(Boolean);
  return entries.find((p) => existsSync(p)) ?? entries[0] ?? join(homeDir, ".kube", "config");
}

function positiveInt(flag: string, text: string, max: number): number {
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > max) throw new FlagError(flag, `"${text}" is not a whole number from 1 to ${max}`);
  return Number(text);
}

function positiveQuantity(flag: string, text: string): string {
  let ok = false;
  try {
    ok = parseQuantity(text).nano > 0n;
  } catch {}
  if (!ok) throw new FlagError(flag, `"${text}" is not a positive quantity (e.g. ${flag === "cpu" ? "4 or 500m" : "8Gi or 512Mi"})`);
  return text;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.Duration text ("10s", "1m30s", "500ms"), as Kubernetes flags take it. */
export function durationMs(flag: string, text: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== text) throw new FlagError(flag, `"${text}" is not a duration (e.g. 10s, 500ms, 1m30s)`);
  const ms = parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
  if (ms <= 0) throw new FlagError(flag, `"${text}" must be longer than zero`);
  return ms;
}

function labels(flag: string, text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(",").filter(Boolean)) {
    const eq = pair.indexOf("=");
    const [k, v] = eq < 0 ? [pair, ""] : [pair.slice(0, eq), pair.slice(eq + 1)];
    const problem = [...isQualifiedName(k), ...isValidLabelValue(v)][0];
    if (eq < 0 || problem) throw new FlagError(flag, `"${pair}" is not a valid label (key=value): ${problem ?? "missing '='"}`);
    out[k] = v;
  }
  return out;
}

function kubeconfigPath(flag: string, path: string): string {
  try {
    const creds = resolveContext(readKubeconfig(path));
    if (!creds.server) throw new Error("no server in the current context");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FlagError(flag, `cannot use "${path}": ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message}`);
  }
  return path;
}

export function simConfigFromFlags(raw: RawFlags, env: Record<string, string | undefined>, homeDir: string): SimConfig {
  const known = new Set(SIM_FLAGS.map((f) => f.name));
  for (const name of Object.keys(raw)) if (!known.has(name)) throw new FlagError(name, "unknown flag");
  const text = (flag: string) => stringFlag(raw, flag);

  const nodes = text("nodes") === undefined ? DEFAULTS.nodes : positiveInt("nodes", text("nodes")!, MAX_SIM_NODES);
  const prefix = text("prefix") ?? DEFAULTS.prefix;
  const problem = isDns1123Subdomain(`${prefix}-${nodes - 1}`)[0];
  if (problem) throw new FlagError("prefix", `"${prefix}" does not make valid node names: ${problem}`);
  const heartbeatIntervalMs = text("heartbeat-interval") === undefined ? DEFAULTS.heartbeatIntervalMs : durationMs("heartbeat-interval", text("heartbeat-interval")!);
  if (heartbeatIntervalMs >= LEASE_DURATION_MS) throw new FlagError("heartbeat-interval", `must be shorter than the ${LEASE_DURATION_MS / 1000}s node lease`);
  const clusterCidr = cidr("cluster-cidr", text("cluster-cidr") ?? DEFAULTS.clusterCidr);
  const blocks = 2 ** (30 - parseCidr(clusterCidr).prefix); // each node needs at least a /30
  if (nodes > blocks) throw new FlagError("cluster-cidr", `"${clusterCidr}" is too small for ${nodes} nodes' pod ranges`);

  const cfg: Omit<SimConfig, "kubeconfig"> = {
    nodes,
    prefix,
    cpu: positiveQuantity("cpu", text("cpu") ?? DEFAULTS.cpu),
    memory: positiveQuantity("memory", text("memory") ?? DEFAULTS.memory),
    pods: text("pods") === undefined ? DEFAULTS.pods : positiveInt("pods", text("pods")!, 1_000_000),
    labels: text("node-labels") === undefined ? {} : labels("node-labels", text("node-labels")!),
    heartbeatIntervalMs,
    statusReportIntervalMs: text("node-status-report-interval") === undefined ? DEFAULTS.statusReportIntervalMs : durationMs("node-status-report-interval", text("node-status-report-interval")!),
    clusterCidr,
    workers: text("pod-workers") === undefined ? DEFAULTS.workers : positiveInt("pod-workers", text("pod-workers")!, 1024),
  };
  // Last: a typo in a value is reported before a missing default kubeconfig.
  return { kubeconfig: kubeconfigPath("kubeconfig", text("kubeconfig") ?? defaultKubeconfig(env, homeDir)), ...cfg };
}

/** Runs until SIGTERM/SIGINT, then stops heartbeats (nodes stay registered) and exits 0. */
export async function runSim(raw: RawFlags): Promise<void> {
  const { homedir } = await import("node:os");
  const cfg = simConfigFromFlags(raw, process.env, homedir());
  const { startSim } = await import("../agent/sim/sim");
  const sim = await startSim(cfg);
  const shutdown = () => sim.stop().then(() => process.exit(0), () => process.exit(1));
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}
