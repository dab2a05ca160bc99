// How pods on this node reach pods on the others. host-gw (a route per peer through its
// InternalIP) is the only backend today; it needs every node on one L2 segment. An overlay
// (VXLAN, WireGuard) for nodes that are not would be another implementation of this interface:
// it would make its device at `init`, and in `syncPeers` its tunnels/FDB entries plus routes
// through that device, tagged with the same route proto so reset finds them.
import type { CommandRunner } from "../host/run";
import type { Logger } from "../../machinery/log";
import type { Peer } from "./peers";
import { syncPeerRoutes } from "./routes";

export interface PodNetworkBackend {
  readonly name: "host-gw";
  /** One-time node setup for the backend (devices, keys); idempotent. */
  init(): Promise<void>;
  /** Makes every peer's podCIDR reachable and forgets peers that are gone; idempotent. */
  syncPeers(peers: Peer[]): Promise<void>;
}

export function hostGwBackend(run: CommandRunner, log: Logger): PodNetworkBackend {
  // Only log what changed and what keeps failing, so a periodic resync is silent when all is well.
  let lastFailures = "";
  return {
    name: "host-gw",
    async init() {},
    async syncPeers(peers) {
      const byCidr = new Map(peers.map((p) => [p.podCidr, p]));
      const r = await syncPeerRoutes(run, peers.map((p) => ({ dst: p.podCidr, via: p.ip })));
      for (const x of r.replaced) log.info("route to a node's pods", { node: byCidr.get(x.dst)?.node, podCIDR: x.dst, via: x.via });
      for (const x of r.removed) log.info("removed the route to a node's pods", { podCIDR: x.dst, via: x.gateway });
      const failures = r.failed.map((f) => `${f.route.dst}: ${f.error}`).join("; ");
      if (failures && failures !== lastFailures) {
        log.error("routes to some nodes' pods failed; host-gw needs every node's InternalIP on a directly connected network", { failures });
      }
      lastFailures = failures;
    },
  };
}
