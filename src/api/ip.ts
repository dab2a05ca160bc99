// IP address grammar, once for the whole program (API validation, the CLI's flags, the ClusterIP
// allocator, the proxy). IPv4 is a dotted quad as Go's net.ParseIP reads it since Go 1.17: four
// decimal fields of 0–255, no leading zeros ("010" is octal to some parsers, so both Go and
// Kubernetes refuse it), no surrounding whitespace.

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/** A dotted-quad IPv4 address as an unsigned 32-bit integer; undefined when it is not one. */
export function parseIPv4(s: string): number | undefined {
  const m = IPV4.exec(s);
  if (!m) return undefined;
  return ((Number(m[1]) * 256 + Number(m[2])) * 256 + Number(m[3])) * 256 + Number(m[4]);
}

export const isIPv4 = (s: string): boolean => IPV4.test(s);

export function isIPv6(s: string): boolean {
  if (!s.includes(":") || !/^[0-9a-fA-F:.]+$/.test(s)) return false;
  const doubles = s.split("::").length - 1;
  if (doubles > 1) return false;
  let groups = s.split(":").filter((g) => g !== "");
  const last = groups[groups.length - 1];
  let count = groups.length;
  if (last?.includes(".")) {
    if (!isIPv4(last)) return false;
    groups = groups.slice(0, -1);
    count += 1;
  }
  if (!groups.every((g) => /^[0-9a-fA-F]{1,4}$/.test(g))) return false;
  return doubles ? count < 8 : count === 8;
}

export const isIP = (s: string) => isIPv4(s) || isIPv6(s);

export function isCIDR(s: string): boolean {
  const [ip, bits, ...rest] = s.split("/");
  if (rest.length || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
  const n = Number(bits);
  return (isIPv4(ip!) && n <= 32) || (isIPv6(ip!) && n <= 128);
}
