// Two pods cannot bind the same host port and protocol on one node; a wildcard address
// (0.0.0.0, the default) clashes with every address, as in upstream's NodePorts plugin.
import type { Filter, HostPort } from "../types";

const NO_FREE_PORTS = ["node(s) didn't have free ports for the requested pod ports"] as const;
const WILDCARD = "0.0.0.0";

export const portsConflict = (a: HostPort, b: HostPort) =>
  a.port === b.port && a.protocol === b.protocol && (a.ip === b.ip || a.ip === WILDCARD || b.ip === WILDCARD);

export const hostPorts: Filter = {
  name: "NodePorts",
  applies: (pod) => pod.hostPorts.length > 0,
  filter(pod, node) {
    for (const want of pod.hostPorts) for (const used of node.usedPorts) if (portsConflict(want, used)) return NO_FREE_PORTS;
    return undefined;
  },
  resolvable: () => true,
};
