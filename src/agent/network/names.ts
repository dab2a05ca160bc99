// Every name and number the pod network leaves on a node, in one place, so that start-up can
// find what an earlier run left behind and `bramble reset` can remove exactly that.

/** The Docker network pods join, and its Linux bridge. */
export const POD_DOCKER_NETWORK = "bramble-pods";
export const POD_BRIDGE = "bramble0";

/**
 * The routing protocol number on every route bramble adds (`ip route ... proto 98`, 98 is "b"
 * and unused in iproute2's rt_protos). Stale routes are found by it, never by guessing.
 */
export const ROUTE_PROTO = 98;

/**
 * The table consulted for connections the node itself opens to a Service IP (see
 * service-route.ts), and the priority of the `ip rule` that sends them there: after the local
 * table (priority 0), before main (32766).
 */
export const HOST_SERVICE_TABLE = 98;
export const HOST_SERVICE_RULE_PRIORITY = 98;

/**
 * iptables chains bramble owns for the pod network, and the built-in chains that jump to them.
 * Not "BRAMBLE-...": the Service proxy owns that prefix and sweeps every BRAMBLE- chain in nat
 * it did not render (src/agent/proxy/syncer.ts), which would take these along.
 */
export const FORWARD_CHAIN = "BRAMBLEPOD-FORWARD";
export const MASQ_CHAIN = "BRAMBLEPOD-MASQ";
export const JUMPS = [
  { table: "filter", hook: "FORWARD", chain: FORWARD_CHAIN },
  { table: "nat", hook: "POSTROUTING", chain: MASQ_CHAIN },
] as const;

/** The comment on the jumps, so `iptables -S` says who put them there. */
export const JUMP_COMMENT = "bramble pod network";
