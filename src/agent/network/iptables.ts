// The pod network's iptables rules, in two bramble-owned chains:
//   filter BRAMBLEPOD-FORWARD (jumped to first from FORWARD): accept forwarded traffic from
//     and to the cluster CIDR. Docker sets FORWARD's policy to DROP and only lets in traffic
//     for its bridges that it started itself, so pod traffic from other nodes would die there.
//   nat BRAMBLEPOD-MASQ (from POSTROUTING): masquerade pod traffic leaving the cluster
//     CIDR. Pod-to-pod traffic across nodes keeps its source IP. (Docker's own masquerade is off
//     for the pod bridge: it would only know this node's podCIDR and rewrite pod-to-pod too.)
// Rendering is pure (text for `iptables-restore --noflush`); applying checks for the jumps first
// because a restore file can insert but not "insert unless present".
import type { CommandRunner } from "../host/run";
import { mustRun } from "../host/run";
import { FORWARD_CHAIN, JUMP_COMMENT, JUMPS, MASQ_CHAIN } from "./names";

export interface PodNetRulesInput {
  clusterCidr: string;
  /** Which jumps from built-in chains are already there (keyed by chain name). */
  jumpsPresent: Partial<Record<string, boolean>>;
}

const jumpSpec = (hook: string, chain: string) => `${hook} -m comment --comment "${JUMP_COMMENT}" -j ${chain}`;

/** The iptables-restore text that makes bramble's pod-network chains exactly right. */
export function renderPodNetRules(input: PodNetRulesInput): string {
  const c = input.clusterCidr;
  const jump = (table: string) =>
    JUMPS.filter((j) => j.table === table && !input.jumpsPresent[j.chain]).map((j) => `-I ${jumpSpec(j.hook, j.chain)}`);
  return [
    "*filter",
    // Declaring a chain in a --noflush restore empties it: the rules below replace the old ones atomically.
    `:${FORWARD_CHAIN} - [0:0]`,
    `-A ${FORWARD_CHAIN} -s ${c} -m comment --comment "bramble pod network: from pods" -j ACCEPT`,
    `-A ${FORWARD_CHAIN} -d ${c} -m comment --comment "bramble pod network: to pods" -j ACCEPT`,
    ...jump("filter"),
    "COMMIT",
    "*nat",
    `:${MASQ_CHAIN} - [0:0]`,
    `-A ${MASQ_CHAIN} -s ${c} -d ${c} -m comment --comment "bramble pod network: pod to pod keeps its source" -j RETURN`,
    // Multicast never leaves the segment; rewriting its source would only confuse receivers.
    `-A ${MASQ_CHAIN} -s ${c} ! -d 224.0.0.0/4 -m comment --comment "bramble pod network: pods leaving the cluster" -j MASQUERADE`,
    ...jump("nat"),
    "COMMIT",
    "",
  ].join("\n");
}

/**
 * The restore text that removes bramble's pod-network chains and every jump to them, given the
 * output of `iptables-save` for both tables; undefined when there is nothing to remove. Jumps
 * are deleted by their exact saved spec, so an older bramble's differently-commented jump goes too.
 */
export function renderPodNetRemoval(saved: string): string | undefined {
  const out: string[] = [];
  let table = "";
  const byTable = new Map<string, string[]>();
  for (const line of saved.split("\n")) {
    if (line.startsWith("*")) table = line.slice(1).trim();
    const ours = JUMPS.find((j) => j.table === table);
    if (!ours) continue;
    const lines = byTable.get(table) ?? [];
    byTable.set(table, lines);
    if (line.startsWith(`-A ${ours.hook} `) && line.endsWith(`-j ${ours.chain}`)) lines.push(`-D ${line.slice(3)}`);
    if (line.startsWith(`:${ours.chain} `)) lines.push(`-F ${ours.chain}`, `-X ${ours.chain}`);
  }
  for (const [t, lines] of byTable) {
    if (!lines.length) continue;
    // Jumps first: a chain still referenced cannot be deleted.
    lines.sort((a, b) => Number(b.startsWith("-D")) - Number(a.startsWith("-D")));
    out.push(`*${t}`, ...lines, "COMMIT");
  }
  return out.length ? [...out, ""].join("\n") : undefined;
}

async function jumpPresent(run: CommandRunner, table: string, hook: string, chain: string): Promise<boolean> {
  const r = await run(["iptables", "-w", "-t", table, "-C", hook, "-m", "comment", "--comment", JUMP_COMMENT, "-j", chain]);
  return r.code === 0;
}

/** Installs or refreshes the chains and adds missing jumps; atomic per table. */
export async function applyPodNetRules(run: CommandRunner, clusterCidr: string): Promise<void> {
  const jumpsPresent: Record<string, boolean> = {};
  for (const j of JUMPS) jumpsPresent[j.chain] = await jumpPresent(run, j.table, j.hook, j.chain);
  await mustRun(run, ["iptables-restore", "-w", "--noflush"], renderPodNetRules({ clusterCidr, jumpsPresent }));
}

/** Removes the chains and jumps; returns how many chains were removed. */
export async function removePodNetRules(run: CommandRunner): Promise<number> {
  const saved = (await mustRun(run, ["iptables-save", "-t", "filter"])) + (await mustRun(run, ["iptables-save", "-t", "nat"]));
  const text = renderPodNetRemoval(saved);
  if (!text) return 0;
  await mustRun(run, ["iptables-restore", "-w", "--noflush"], text);
  return (text.match(/^-X /gm) ?? []).length;
}
