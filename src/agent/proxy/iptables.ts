// The proxy's dealings with the kernel, all through a CommandRunner (so tests point it at a
// network namespace): iptables-restore, finding our chains, the jumps from the built-in chains,
// the sysctls the rules need, the policy routes for the Service range, and `bramble reset`.
import { runCommand, type CommandRunner } from "../host/run";
import { CHAIN_PREFIX, EXTERNAL_SERVICES, FILTER_SERVICES, FIREWALL, FORWARD, POSTROUTING, SERVICES } from "./chains";

/** Applies restore text without flushing anyone else's chains; each table commits atomically or not at all. */
export async function iptablesRestore(run: CommandRunner, text: string): Promise<void> {
  const r = await run(["iptables-restore", "--noflush", "-w", "5"], text);
  if (r.code !== 0) throw new Error(`iptables-restore failed (exit ${r.code}): ${(r.stderr || r.stdout).trim()}`);
}

export type Table = "nat" | "filter";

/** One table as iptables-save prints it. */
export async function iptablesSave(run: CommandRunner, table: Table): Promise<string> {
  const r = await run(["iptables-save", "-t", table]);
  if (r.code !== 0) throw new Error(`iptables-save -t ${table} failed (exit ${r.code}): ${r.stderr.trim()}`);
  return r.stdout;
}

/**
 * The nat and filter tables from one iptables-save: with the nf_tables backend every save reads
 * the whole ruleset from the kernel whatever -t says, so one call costs half of two.
 */
export async function iptablesSaveAll(run: CommandRunner): Promise<Record<Table, string>> {
  const r = await run(["iptables-save"]);
  if (r.code !== 0) throw new Error(`iptables-save failed (exit ${r.code}): ${r.stderr.trim()}`);
  const out: Record<Table, string> = { nat: "", filter: "" };
  for (const block of r.stdout.split(/^(?=\*)/m)) {
    const name = block.slice(1, block.indexOf("\n"));
    if (name === "nat" || name === "filter") out[name] = block;
  }
  return out;
}

/** The BRAMBLE- chains in iptables-save output. */
export function ourChains(saved: string): string[] {
  const chains: string[] = [];
  for (const line of saved.split("\n")) if (line.startsWith(`:${CHAIN_PREFIX}`)) chains.push(line.slice(1, line.indexOf(" ")));
  return chains;
}

interface Jump {
  table: Table;
  chain: string;
  args: string[];
}

const c = (text: string) => ["-m", "comment", "--comment", text];
const NEW = ["-m", "conntrack", "--ctstate", "NEW"];

/** Jumps from the built-in chains, in the order they should end up at the top of each chain. */
export const JUMPS: Jump[] = [
  { table: "nat", chain: "PREROUTING", args: [...c("bramble service portals"), "-j", SERVICES] },
  { table: "nat", chain: "OUTPUT", args: [...c("bramble service portals"), "-j", SERVICES] },
  { table: "nat", chain: "POSTROUTING", args: [...c("bramble postrouting rules"), "-j", POSTROUTING] },
  { table: "filter", chain: "INPUT", args: [...c("bramble firewall"), "-j", FIREWALL] },
  { table: "filter", chain: "INPUT", args: [...c("bramble external services"), ...NEW, "-j", EXTERNAL_SERVICES] },
  { table: "filter", chain: "FORWARD", args: [...c("bramble service portals"), ...NEW, "-j", FILTER_SERVICES] },
  { table: "filter", chain: "FORWARD", args: [...c("bramble external services"), ...NEW, "-j", EXTERNAL_SERVICES] },
  { table: "filter", chain: "FORWARD", args: [...c("bramble forwarding rules"), "-j", FORWARD] },
  { table: "filter", chain: "OUTPUT", args: [...c("bramble service portals"), ...NEW, "-j", FILTER_SERVICES] },
];

/** Whether iptables-save output holds the jump (its comment and target, whatever order the matches print in). */
function hasJump(saved: string, j: Jump): boolean {
  const comment = `"${j.args[j.args.indexOf("--comment") + 1]}"`;
  const target = `-j ${j.args.at(-1)}`;
  return saved.split("\n").some((l) => l.startsWith(`-A ${j.chain} `) && l.includes(comment) && l.trimEnd().endsWith(target));
}

/**
 * Puts each missing jump at the top of its built-in chain (Docker's FORWARD policy is DROP, and
 * its own rules are inserted at the top too). Existing jumps stay where they are: re-inserting
 * them on every sync would churn the chain for nothing. `saved` is iptables-save output per
 * table, when the caller has it already (a full sync reads the tables anyway).
 */
export async function ensureJumps(run: CommandRunner, saved: Partial<Record<Table, string>> = {}): Promise<number> {
  for (const t of ["nat", "filter"] as const) saved[t] ??= await iptablesSave(run, t);
  const missing = JUMPS.filter((j) => !hasJump(saved[j.table]!, j));
  // Inserted at 1 in reverse, so they end up in JUMPS order.
  for (const j of missing.reverse()) {
    const r = await run(["iptables", "-w", "5", "-t", j.table, "-I", j.chain, "1", ...j.args]);
    if (r.code !== 0) throw new Error(`iptables -t ${j.table} -I ${j.chain} failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
  return missing.length;
}

/**
 * route_localnet lets a DNATed packet from 127.0.0.1 (a NodePort on localhost) leave the node
 * after masquerading. bridge-nf-call-iptables makes a reply from a pod to a pod on the same
 * bridge pass through conntrack to be un-DNATed; Docker sets it already, we make sure (it only
 * exists once br_netfilter is loaded, so its absence is not an error).
 */
export async function ensureSysctls(run: CommandRunner): Promise<string[]> {
  const problems: string[] = [];
  const r = await run(["sysctl", "-qw", "net.ipv4.conf.all.route_localnet=1"]);
  if (r.code !== 0) problems.push(`route_localnet: ${r.stderr.trim()}`);
  const br = await run(["sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=1"]);
  if (br.code !== 0) problems.push(`bridge-nf-call-iptables: ${br.stderr.trim() || "br_netfilter not loaded"}`);
  return problems;
}

/** Policy-rule priorities (below main's 32766) for the Service range. */
export const RULE_PREF_LOCAL = 9700;
export const RULE_PREF_UNREACHABLE = 9701;

/**
 * A packet to a Service address that no rule DNATed must not follow the default route off the
 * node. An `unreachable` route in the main table would also refuse the node's own connections
 * before the OUTPUT DNAT sees them, so: locally generated packets (iif lo) look up main as usual
 * (the filter table refuses unknown Service addresses for them), everything else routed to the
 * Service range is unreachable.
 */
export async function ensureServiceRangeRoute(run: CommandRunner, serviceCidr: string): Promise<void> {
  const want: [number, string[], string][] = [
    [RULE_PREF_LOCAL, ["iif", "lo", "to", serviceCidr, "lookup", "main"], `from all to ${serviceCidr} iif lo lookup main`],
    [RULE_PREF_UNREACHABLE, ["to", serviceCidr, "unreachable"], `from all to ${serviceCidr} unreachable`],
  ];
  for (const [pref, args, expect] of want) {
    const shown = await run(["ip", "-4", "rule", "show", "pref", String(pref)]);
    const lines = shown.stdout.split("\n").filter(Boolean);
    if (lines.length === 1 && lines[0]!.replace(/^\d+:\s*/, "").trim() === expect) continue;
    for (let i = 0; i < lines.length; i++) await run(["ip", "-4", "rule", "del", "pref", String(pref)]);
    const r = await run(["ip", "-4", "rule", "add", "pref", String(pref), ...args]);
    if (r.code !== 0) throw new Error(`ip rule add pref ${pref} failed (exit ${r.code}): ${r.stderr.trim()}`);
  }
}

/**
 * `bramble reset`: removes the jumps to BRAMBLE- chains from the built-in chains, flushes and
 * deletes every BRAMBLE- chain (one atomic restore per table), and the Service-range policy
 * rules. Returns a one-line summary.
 */
export async function resetServiceProxy(run: CommandRunner = runCommand): Promise<string> {
  let chains = 0;
  let jumps = 0;
  for (const table of ["filter", "nat"] as const) {
    const saved = await run(["iptables-save", "-t", table]);
    if (saved.code !== 0) throw new Error(`iptables-save -t ${table} failed (exit ${saved.code}): ${saved.stderr.trim()}`);
    const ours: string[] = [];
    const unhook: string[] = [];
    for (const line of saved.stdout.split("\n")) {
      if (line.startsWith(`:${CHAIN_PREFIX}`)) ours.push(line.slice(1, line.indexOf(" ")));
      else if (line.startsWith("-A ") && !line.startsWith(`-A ${CHAIN_PREFIX}`) && new RegExp(`-j ${CHAIN_PREFIX}\\S+\\s*$`).test(line)) unhook.push(`-D ${line.slice(3)}`);
    }
    if (ours.length === 0 && unhook.length === 0) continue;
    const text = [`*${table}`, ...ours.map((ch) => `:${ch} - [0:0]`), ...unhook, ...ours.map((ch) => `-X ${ch}`), "COMMIT", ""].join("\n");
    await iptablesRestore(run, text);
    chains += ours.length;
    jumps += unhook.length;
  }
  let rules = 0;
  for (const pref of [RULE_PREF_LOCAL, RULE_PREF_UNREACHABLE]) {
    while ((await run(["ip", "-4", "rule", "del", "pref", String(pref)])).code === 0) rules++;
  }
  return `iptables: removed ${chains} bramble chains and ${jumps} jumps to them; ip rules: removed ${rules}`;
}
