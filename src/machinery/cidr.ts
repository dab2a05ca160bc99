// IPv4 addresses and CIDR blocks as plain numbers. Used by the CLI to check --cluster-cidr /
// --service-cidr and by the API server's ClusterIP allocator, which needs "the n-th address of
// a block" and "how many addresses it has" without pulling in a library for 40 lines of math.
// Addresses are read with src/api/ip.ts's grammar.

import { parseIPv4 } from "../api/ip";

export interface Cidr {
  /** Network address (host bits zeroed), as an unsigned 32-bit integer. */
  network: number;
  prefix: number;
  /** Number of addresses in the block, including network and broadcast. */
  size: number;
}


/** Throws on an invalid address; for callers that already validated their input. */
export function ipToInt(ip: string): number {
  const n = parseIPv4(ip);
  if (n === undefined) throw new Error(`"${ip}" is not a valid IPv4 address`);
  return n;
}

export function intToIp(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`${n} is not an IPv4 address`);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join(".");
}

/**
 * Parses "a.b.c.d/len". Host bits set ("10.43.0.1/16") are accepted and masked off, like
 * Go's net.ParseCIDR which Kubernetes uses for these flags.
 */
export function parseCidr(s: string): Cidr {
  const slash = s.indexOf("/");
  if (slash < 0) throw new Error(`"${s}" is not a valid CIDR`);
  const ip = parseIPv4(s.slice(0, slash));
  const lenText = s.slice(slash + 1);
  if (ip === undefined || !/^\d{1,2}$/.test(lenText) || Number(lenText) > 32) {
    throw new Error(`"${s}" is not a valid CIDR`);
  }
  const prefix = Number(lenText);
  const size = 2 ** (32 - prefix);
  // Plain arithmetic instead of bit masks: JS bit operators are signed 32-bit.
  const network = ip - (ip % size);
  return { network, prefix, size };
}

export function tryParseCidr(s: string): Cidr | undefined {
  try {
    return parseCidr(s);
  } catch {
    return undefined;
  }
}

export function formatCidr(c: Cidr): string {
  return `${intToIp(c.network)}/${c.prefix}`;
}

export function cidrContains(c: Cidr, ip: string | number): boolean {
  const n = typeof ip === "number" ? ip : parseIPv4(ip);
  return n !== undefined && n >= c.network && n < c.network + c.size;
}

/** The n-th address of the block (0 = network address); throws when n is outside it. */
export function nthAddress(c: Cidr, n: number): string {
  if (!Number.isInteger(n) || n < 0 || n >= c.size) {
    throw new Error(`address index ${n} is outside ${formatCidr(c)} (size ${c.size})`);
  }
  return intToIp(c.network + n);
}

/** Offset of ip inside the block (inverse of nthAddress); undefined when not inside. */
export function addressIndex(c: Cidr, ip: string): number | undefined {
  const n = parseIPv4(ip);
  if (n === undefined || !cidrContains(c, n)) return undefined;
  return n - c.network;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  return a.network < b.network + b.size && b.network < a.network + a.size;
}

/** The first usable Service IP (network + 1), which Kubernetes gives to the `kubernetes` Service. */
export function firstServiceIp(serviceCidr: string): string {
  return nthAddress(parseCidr(serviceCidr), 1);
}
