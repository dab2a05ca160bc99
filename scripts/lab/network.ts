// The lab's wiring: a bridge on the host holding .1, a veth pair per node with its namespace end
// (eth0) inside the node's network namespace. The namespaces get no default route, so nothing a
// node sends can leave the machine: they reach each other and the host over the bridge only.
import { existsSync } from "node:fs";
import { BRIDGE, BRIDGE_ADDRESS, FORWARD_COMMENT, netnsPath, type LabNodeSpec } from "./config";
import { inNetns, mustRun, run } from "./sh";

/** Docker on the host sets FORWARD to DROP and br_netfilter sends bridged frames through it. */
const forwardRule = ["FORWARD", "-i", BRIDGE, "-o", BRIDGE, "-m", "comment", "--comment", FORWARD_COMMENT, "-j", "ACCEPT"];

export async function createNetwork(nodes: LabNodeSpec[]): Promise<void> {
  await mustRun(["ip", "link", "add", BRIDGE, "type", "bridge"]);
  await mustRun(["ip", "addr", "add", `${BRIDGE_ADDRESS}/24`, "dev", BRIDGE]);
  await mustRun(["ip", "link", "set", BRIDGE, "up"]);
  await mustRun(["iptables", "-w", "-I", ...forwardRule.slice(0, 1), "1", ...forwardRule.slice(1)]);
  for (const node of nodes) {
    const peer = `${node.hostVeth}p`;
    await mustRun(["ip", "netns", "add", node.ns]);
    await mustRun(["ip", "link", "add", node.hostVeth, "type", "veth", "peer", "name", peer]);
    await mustRun(["ip", "link", "set", node.hostVeth, "master", BRIDGE]);
    await mustRun(["ip", "link", "set", node.hostVeth, "up"]);
    await mustRun(["ip", "link", "set", peer, "netns", node.ns]);
    const inNs = (...argv: string[]) => mustRun(inNetns(node.ns, argv));
    await inNs("ip", "link", "set", peer, "name", "eth0");
    await inNs("ip", "addr", "add", `${node.ip}/24`, "dev", "eth0");
    await inNs("ip", "link", "set", "eth0", "up");
    await inNs("ip", "link", "set", "lo", "up");
    await inNs("sysctl", "-qw", "net.ipv4.ip_forward=1");
  }
}

/** Removes namespaces, veths, the bridge (and with it any route through it) and the FORWARD rule. Idempotent. */
export async function removeNetwork(nodes: LabNodeSpec[]): Promise<string[]> {
  const problems: string[] = [];
  for (const node of nodes) {
    if (existsSync(netnsPath(node.ns))) {
      const r = await run(["ip", "netns", "delete", node.ns]);
      if (r.code !== 0) problems.push(`ip netns delete ${node.ns}: ${r.stderr.trim()}`);
    }
    // Deleting the namespace deletes its veth end and so the pair; this covers a half-made pair.
    if ((await run(["ip", "link", "show", node.hostVeth])).code === 0) await run(["ip", "link", "delete", node.hostVeth]);
  }
  if ((await run(["ip", "link", "show", BRIDGE])).code === 0) {
    const r = await run(["ip", "link", "delete", BRIDGE]);
    if (r.code !== 0) problems.push(`ip link delete ${BRIDGE}: ${r.stderr.trim()}`);
  }
  // Inserted once per up; delete every copy a crashed run may have left.
  for (let i = 0; i < 20; i++) if ((await run(["iptables", "-w", "-D", ...forwardRule])).code !== 0) break;
  return problems;
}

export async function networkStatus(nodes: LabNodeSpec[]): Promise<string[]> {
  const lines: string[] = [];
  const br = await run(["ip", "-br", "addr", "show", BRIDGE]);
  lines.push(br.code === 0 ? `bridge ${br.stdout.trim()}` : `bridge ${BRIDGE}: absent`);
  for (const node of nodes) lines.push(`netns ${node.ns}: ${existsSync(netnsPath(node.ns)) ? "present" : "absent"}`);
  return lines;
}
