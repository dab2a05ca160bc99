import { describe, expect, test } from "bun:test";
import { defaultUpstreams, nameserversOf, parseUpstream } from "./upstream";

describe("upstreams", () => {
  test("parseUpstream: address, address:port, bracketed IPv6", () => {
    expect(parseUpstream("10.0.0.1")).toEqual({ host: "10.0.0.1", port: 53 });
    expect(parseUpstream("127.0.0.1:5353")).toEqual({ host: "127.0.0.1", port: 5353 });
    expect(parseUpstream("[fd00::1]:5300")).toEqual({ host: "fd00::1", port: 5300 });
    expect(parseUpstream("fd00::1")).toEqual({ host: "fd00::1", port: 53 });
  });

  test("nameserversOf reads nameserver lines only, dropping IPv6 zones", () => {
    expect(nameserversOf("# generated\nsearch lan\nnameserver 192.168.1.1\n  nameserver fe80::1%eth0\noptions ndots:1\nnameserver 1.1.1.1")).toEqual(["192.168.1.1", "fe80::1", "1.1.1.1"]);
  });

  test("defaults: the node's resolvers minus loopback stubs and the cluster DNS IP itself", () => {
    const files: Record<string, string> = { "/etc/resolv.conf": "nameserver 127.0.0.53\nnameserver 10.43.0.10\nnameserver 192.168.1.1\n" };
    expect(defaultUpstreams("10.43.0.10", (p) => files[p])).toEqual(["192.168.1.1"]);
  });

  test("only a systemd-resolved stub: the real servers from /run/systemd/resolve/resolv.conf", () => {
    const files: Record<string, string> = { "/etc/resolv.conf": "nameserver 127.0.0.53\n", "/run/systemd/resolve/resolv.conf": "nameserver 192.168.1.1\nnameserver 192.168.1.2\n" };
    expect(defaultUpstreams("10.43.0.10", (p) => files[p])).toEqual(["192.168.1.1", "192.168.1.2"]);
  });

  test("nothing usable: none (the server answers SERVFAIL for outside names and says so at start)", () => {
    expect(defaultUpstreams("10.43.0.10", () => undefined)).toEqual([]);
    expect(defaultUpstreams("10.43.0.10", () => "nameserver 127.0.0.1\n")).toEqual([]);
  });
});
