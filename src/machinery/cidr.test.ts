import { describe, expect, test } from "bun:test";
import {
  addressIndex,
  cidrContains,
  cidrsOverlap,
  firstServiceIp,
  formatCidr,
  intToIp,
  ipToInt,
  nthAddress,
  parseCidr,
  tryParseCidr,
} from "./cidr";
import { parseIPv4 } from "../api/ip";

describe("IPv4 addresses", () => {
  test("round-trip through integers, including the top of the range", () => {
    for (const ip of ["0.0.0.0", "10.43.0.1", "192.168.1.254", "255.255.255.255"]) {
      expect(intToIp(ipToInt(ip))).toBe(ip);
    }
    expect(ipToInt("255.255.255.255")).toBe(0xffffffff);
    expect(ipToInt("10.0.0.1")).toBe(0x0a000001);
  });

  test("rejects malformed addresses", () => {
    for (const bad of ["", "10.0.0", "10.0.0.256", "1.2.3.4.5", "a.b.c.d", "01.2.3.4", "::1"]) {
      expect(parseIPv4(bad)).toBeUndefined();
    }
    expect(() => ipToInt("300.1.1.1")).toThrow();
    expect(() => intToIp(-1)).toThrow();
    expect(() => intToIp(2 ** 32)).toThrow();
  });
});

describe("CIDR blocks", () => {
  test("parse gives network, prefix and size", () => {
    expect(parseCidr("10.43.0.0/16")).toEqual({ network: ipToInt("10.43.0.0"), prefix: 16, size: 65536 });
    expect(parseCidr("0.0.0.0/0").size).toBe(2 ** 32);
    expect(parseCidr("192.168.1.7/32")).toEqual({ network: ipToInt("192.168.1.7"), prefix: 32, size: 1 });
  });

  test("host bits are masked off", () => {
    expect(formatCidr(parseCidr("10.43.7.9/16"))).toBe("10.43.0.0/16");
    expect(formatCidr(parseCidr("200.200.200.200/1"))).toBe("128.0.0.0/1");
  });

  test("rejects bad prefixes and addresses", () => {
    for (const bad of ["10.43.0.0/33", "10.43.0.0", "10.43.0.0/", "10.43.0.0/-1", "10.43.0/16", "x/8", "10.0.0.0/1a"]) {
      expect(tryParseCidr(bad)).toBeUndefined();
    }
    expect(() => parseCidr("10.43.0.0/33")).toThrow('"10.43.0.0/33" is not a valid CIDR');
  });

  test("contains, nth address and its inverse", () => {
    const c = parseCidr("10.43.0.0/16");
    expect(cidrContains(c, "10.43.255.255")).toBe(true);
    expect(cidrContains(c, "10.44.0.0")).toBe(false);
    expect(cidrContains(c, "not an ip")).toBe(false);
    expect(nthAddress(c, 0)).toBe("10.43.0.0");
    expect(nthAddress(c, 10)).toBe("10.43.0.10");
    expect(nthAddress(c, 256)).toBe("10.43.1.0");
    expect(nthAddress(c, 65535)).toBe("10.43.255.255");
    expect(() => nthAddress(c, 65536)).toThrow();
    expect(addressIndex(c, "10.43.1.0")).toBe(256);
    expect(addressIndex(c, "10.42.0.1")).toBeUndefined();
  });

  test("first Service IP is network + 1", () => {
    expect(firstServiceIp("10.43.0.0/16")).toBe("10.43.0.1");
    expect(firstServiceIp("172.20.5.0/24")).toBe("172.20.5.1");
  });

  test("overlap", () => {
    expect(cidrsOverlap(parseCidr("10.42.0.0/16"), parseCidr("10.43.0.0/16"))).toBe(false);
    expect(cidrsOverlap(parseCidr("10.0.0.0/8"), parseCidr("10.43.0.0/16"))).toBe(true);
  });
});
