// The proxy's dealings with the kernel, all through a CommandRunner (so tests point it at a
// network namespace): iptables-restore, finding our chains, the jumps from the built-in chains,
// the sysctls the rules need, and `bramble reset`.
import { runCommand, type CommandRunner } from "../host/run";
import { CHAIN_PREFIX, EXTERNAL_SERVICES, FILTER_SERVICES, FIREWALL, FORWARD, POSTROUTING, SERVICES } from "./chains";

/** Applies restore text without flushing anyone else's chains; each table commits atomically or not at all. */
export async function iptablesRestore(run: CommandRunner, text: string): Promise<void> {
  const r = await run(["iptables-restore", "--noflush", "-w", "5"], text);
  if (r.code === 0) return;
  const said = (r.stderr || r.stdout).trim();
  // "Error occurred at line: 7" (parse errors) or "iptables-restore: line 7 failed" (the kernel
  // refused the commit): name the rule, so the log (and the syncer) can say whose it is.
  const m = /Error occurred at line: (\d+)|line (\d+) failed/.exec(said);
  const n = Number(m?.[1] ?? m?.[2] ?? 0);
  const line = n > 0 ? text.split("\n")[n - 1] : undefined;
  throw new RestoreError(`iptables-restore failed (exit ${r.code}): ${said}${line ? ` — the rule: ${line}` : ""}`, line);
}

export class RestoreError extends Error {
  constructor(
    message: string,
    /** The input line iptables-restore refused, when it said which. */
    readonly line?: string,
  ) {
    super(message);
  }
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
  { table: "filter", chain: "FORWARD", args: [...c("bramble firewall"), "-j", FIREWALL] },
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

/**
 * `bramble reset`: removes the jumps to BRAMBLE- chains from the built-in chains, flushes and
 * deletes every BRAMBLE- chain (one atomic restore per table). Returns a one-line summary.
 * (The unreachable route for the Service range belongs to the pod network, which removes it.)
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
  return `service proxy: removed ${chains} iptables chains and ${jumps} jumps to them`;
}
