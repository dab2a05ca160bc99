// The cluster DNS IP lives on every node, on a dummy interface of its own: pods (through their
// bridge) and the node itself reach it locally, with no Service or iptables rule behind it,
// the way node-local-dns holds 169.254.20.10. A /32 so it claims no route to its neighbours.
// Kernels built without the dummy driver (some VM and container kernels: "Unknown device
// type") get the address on lo instead, under the label lo:bramble-dns so it can be found and
// removed; Linux delivers a packet for any local address whatever interface holds it.
import { mustRun, runCommand, type CommandRunner } from "../host/run";

export const DNS_INTERFACE = "bramble-dns";
/** The label of the fallback address on lo (at most 15 characters, "lo:" first). */
export const DNS_LO_LABEL = "lo:bramble-dns";

/** Puts `ip`/32 on the bramble-dns dummy interface (created if missing, brought up); idempotent. */
export async function ensureDnsAddress(ip: string, run: CommandRunner = runCommand): Promise<void> {
  let exists = (await run(["ip", "link", "show", "dev", DNS_INTERFACE])).code === 0;
  if (!exists) {
    const add = await run(["ip", "link", "add", DNS_INTERFACE, "type", "dummy"]);
    if (add.code !== 0 && /unknown device type|not supported/i.test(add.stderr)) return ensureOnLoopback(ip, run);
    if (add.code !== 0) throw new Error(`ip link add ${DNS_INTERFACE} type dummy failed (exit ${add.code}): ${add.stderr.trim()}`);
    exists = true;
  }
  // Another address left from an earlier --cluster-dns would still answer; the interface holds exactly one.
  await dropOtherAddresses(run, ["dev", DNS_INTERFACE], ip);
  await mustRun(run, ["ip", "addr", "replace", `${ip}/32`, "dev", DNS_INTERFACE]);
  await mustRun(run, ["ip", "link", "set", DNS_INTERFACE, "up"]);
}

async function ensureOnLoopback(ip: string, run: CommandRunner) {
  await dropOtherAddresses(run, ["dev", "lo", "label", DNS_LO_LABEL], ip);
  await mustRun(run, ["ip", "addr", "replace", `${ip}/32`, "dev", "lo", "label", DNS_LO_LABEL]);
}

async function dropOtherAddresses(run: CommandRunner, where: string[], keep: string) {
  const addrs = await run(["ip", "-4", "-o", "addr", "show", ...where]);
  const dev = where[1]!;
  for (const m of addrs.stdout.matchAll(/inet (\S+)/g)) {
    if (m[1] !== `${keep}/32`) await mustRun(run, ["ip", "addr", "del", m[1]!, "dev", dev]);
  }
}

/** Removes the interface, or the lo fallback address (for `bramble reset`); nothing to remove is fine. */
export async function removeDnsAddress(run: CommandRunner = runCommand): Promise<void> {
  if ((await run(["ip", "link", "show", "dev", DNS_INTERFACE])).code === 0) await mustRun(run, ["ip", "link", "del", DNS_INTERFACE]);
  const onLo = await run(["ip", "-4", "-o", "addr", "show", "dev", "lo", "label", DNS_LO_LABEL]);
  for (const m of onLo.stdout.matchAll(/inet (\S+)/g)) await mustRun(run, ["ip", "addr", "del", m[1]!, "dev", "lo"]);
}
