// Which names the serving certificate must cover: every way a client may reach the API server
// (the addresses it listens on and advertises, loopback, the host name) plus the names and
// ClusterIP pods use to reach the in-cluster `kubernetes` Service.

import { hostname } from "node:os";
import { firstServiceIp } from "../../machinery/cidr";
import type { SubjectAltNames } from "./serving";

export interface SanInputs {
  advertiseAddress: string;
  bindAddress: string;
  serviceCidr: string;
  hostname?: string;
}

export function servingSans(i: SanInputs): SubjectAltNames {
  const ips = new Set<string>(["127.0.0.1"]);
  for (const a of [i.advertiseAddress, i.bindAddress]) {
    // 0.0.0.0 means "all interfaces": it is never an address a client dials.
    if (a && a !== "0.0.0.0") ips.add(a);
  }
  ips.add(firstServiceIp(i.serviceCidr));
  const dns = new Set<string>([
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
  ]);
  const host = (i.hostname ?? hostname()).toLowerCase();
  if (host) dns.add(host);
  return { dns: [...dns], ips: [...ips] };
}
