// The cluster DNS IP lives on every node, on a dummy interface of its own: pods (through their
// bridge) and the node itself reach it locally, with no Service or iptables rule behind it,
// the way node-local-dns holds 169.254.20.10. A /32 so it claims no route to its neighbours.
import { mustRun, runCommand, type CommandRunner } from "../host/run";

export const DNS_INTERFACE = "bramble-dns";

/** Creates the dummy interface (if missing), puts `ip`/32 on it and brings it up; idempotent. */
export async function ensureDnsAddress(ip: string, run: CommandRunner = runCommand): Promise<void> {
  const exists = await run(["ip", "link", "show", "dev", DNS_INTERFACE]);
  if (exists.code !== 0) await mustRun(run, ["ip", "link", "add", DNS_INTERFACE, "type", "dummy"]);
  // Another address left from an earlier --cluster-dns would still answer; the interface holds exactly one.
  const addrs = await run(["ip", "-4", "-o", "addr", "show", "dev", DNS_INTERFACE]);
  for (const m of addrs.stdout.matchAll(/inet (\S+)/g)) {
    if (m[1] !== `${ip}/32`) await mustRun(run, ["ip", "addr", "del", m[1]!, "dev", DNS_INTERFACE]);
  }
  await mustRun(run, ["ip", "addr", "replace", `${ip}/32`, "dev", DNS_INTERFACE]);
  await mustRun(run, ["ip", "link", "set", DNS_INTERFACE, "up"]);
}

/** Removes the interface and its address (for `bramble reset`); nothing to remove is fine. */
export async function removeDnsAddress(run: CommandRunner = runCommand): Promise<void> {
  const exists = await run(["ip", "link", "show", "dev", DNS_INTERFACE]);
  if (exists.code === 0) await mustRun(run, ["ip", "link", "del", DNS_INTERFACE]);
}
