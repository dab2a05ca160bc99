// Facts about the host that decide flag defaults, gathered in one place so the flag parsing
// stays a pure function of (flags, host) and can be tested without root or real interfaces.

import { homedir, networkInterfaces } from "node:os";
import { join } from "node:path";

export interface HostFacts {
  isRoot: boolean;
  homeDir: string;
  /** Non-internal IPv4 addresses, in interface order. */
  ipv4Addresses: string[];
}

export function hostFacts(): HostFacts {
  const ipv4Addresses: string[] = [];
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      // Link-local (169.254/16) is not reachable from other hosts; never advertise it.
      if (a.family === "IPv4" && !a.internal && !a.address.startsWith("169.254.")) ipv4Addresses.push(a.address);
    }
  }
  return { isRoot: process.getuid?.() === 0, homeDir: homedir(), ipv4Addresses };
}

/** k3s's convention: system-wide state as root, per-user state otherwise. */
export function defaultDataDir(h: HostFacts): string {
  return h.isRoot ? "/var/lib/bramble" : join(h.homeDir, ".bramble");
}
