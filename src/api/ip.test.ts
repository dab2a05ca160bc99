import { describe, expect, test } from "bun:test";
import { isCIDR, isIP, isIPv4, isIPv6, parseIPv4 } from "./ip";

describe("IPv4, as Go's net.ParseIP reads a dotted quad", () => {
  test("four decimal fields of 0-255", () => {
    for (const ok of ["0.0.0.0", "1.2.3.4", "10.43.0.10", "192.168.1.254", "255.255.255.255", "100.99.199.249"]) expect(isIPv4(ok)).toBe(true);
    expect(parseIPv4("10.0.0.1")).toBe(0x0a000001);
    expect(parseIPv4("255.255.255.255")).toBe(0xffffffff);
    expect(parseIPv4("0.0.0.0")).toBe(0);
  });

  test("refuses leading zeros, out-of-range fields, wrong field counts, whitespace and other forms", () => {
    for (const bad of [
      "01.2.3.4", "1.2.3.04", "1.2.3.00", "010.0.0.1", // leading zeros (octal to some parsers)
      "256.0.0.1", "1.2.3.999", "1.2.3.-1",
      "1.2.3", "1.2.3.4.5", "1..2.3", "1.2.3.4.",
      " 1.2.3.4", "1.2.3.4 ", "1.2.3.4\n",
      "0x1.2.3.4", "1e1.2.3.4", "+1.2.3.4", "", "::1", "::ffff:1.2.3.4", "a.b.c.d", "１.2.3.4",
    ]) {
      expect(isIPv4(bad)).toBe(false);
      expect(parseIPv4(bad)).toBeUndefined();
    }
  });
});

test("IPv6, IPs and CIDRs", () => {
  for (const ok of ["::1", "::", "2001:db8::ffff", "fe80::1:2:3:4", "1:2:3:4:5:6:7:8", "::ffff:10.0.0.1"]) expect(isIPv6(ok)).toBe(true);
  for (const bad of ["1:2:3:4:5:6:7:8:9", "1::2::3", "12345::1", "::ffff:01.0.0.1", "1.2.3.4", "g::1"]) expect(isIPv6(bad)).toBe(false);
  expect(isIP("10.0.0.1") && isIP("::1")).toBe(true);
  expect(isIP("10.0.0.01")).toBe(false);
  for (const ok of ["10.42.0.0/16", "0.0.0.0/0", "10.0.0.1/32", "fd00::/8", "::/128"]) expect(isCIDR(ok)).toBe(true);
  for (const bad of ["10.42.0.0", "10.42.0.0/33", "010.42.0.0/16", "fd00::/129", "10.0.0.0/8/8", "10.0.0.0/"]) expect(isCIDR(bad)).toBe(false);
});
