// UDP has no connection to end: a conntrack entry keeps sending a client's datagrams to the
// endpoint it was first DNATed to for as long as the client keeps talking (or 30–180 s after it
// stops), even after that endpoint is gone. So, as kube-proxy, when a UDP Service port loses an
// endpoint its flows to that endpoint are deleted, and when it gets its first endpoint the flows
// created while it had none (no DNAT) are deleted too. TCP needs none of this: a dead endpoint's
// connections fail and the client reconnects through the rules. Needs the `conntrack` tool
// (Debian: conntrack); without it the stale flows simply age out.
import type { RenderedService } from "./render";

/** What the flows of one UDP Service port look like: the addresses clients send to, and where they are DNATed. */
export interface UdpPort {
  /** ClusterIP, external IPs, load-balancer IPs. */
  dsts: string[];
  nodePort?: number;
  /** Ready endpoint IPs the rules DNAT to. */
  endpoints: string[];
}

const del = (...args: string[]) => ["conntrack", "-D", "-p", "udp", ...args];

/** The `conntrack -D` commands a change of one Service from `old` to `next` calls for. */
export function staleUdpFlows(old: RenderedService | undefined, next: RenderedService | undefined): string[][] {
  const cmds: string[][] = [];
  for (const [spn, o] of old?.udp ?? []) {
    const kept = new Set(next?.udp.get(spn)?.endpoints ?? []);
    for (const ep of o.endpoints) {
      if (kept.has(ep)) continue;
      for (const dst of o.dsts) cmds.push(del("--orig-dst", dst, "--dst-nat", ep));
      if (o.nodePort) cmds.push(del("--orig-port-dst", String(o.nodePort), "--dst-nat", ep));
    }
  }
  for (const [spn, n] of next?.udp ?? []) {
    if (n.endpoints.length === 0 || (old?.udp.get(spn)?.endpoints.length ?? 0) > 0) continue;
    for (const dst of n.dsts) cmds.push(del("--orig-dst", dst));
    if (n.nodePort) cmds.push(del("--orig-port-dst", String(n.nodePort)));
  }
  return cmds;
}
