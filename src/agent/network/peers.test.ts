import { describe, expect, test } from "bun:test";
import type { Node } from "../../api/resources/core/node";
import { peersOf } from "./peers";

const node = (name: string, podCIDR?: string, ip?: string, extra: { type: string; address: string }[] = []): Node =>
  ({
    metadata: { name },
    spec: podCIDR ? { podCIDR } : {},
    status: { addresses: [...extra, ...(ip ? [{ type: "InternalIP", address: ip }] : []), { type: "Hostname", address: name }] },
  }) as Node;

describe("peersOf", () => {
  test("every other node with a podCIDR and an IPv4 InternalIP, sorted numerically by podCIDR", () => {
    const nodes = [
      node("self", "10.42.0.0/24", "192.168.1.10"),
      node("b", "10.42.10.0/24", "192.168.1.12"),
      node("a", "10.42.2.0/24", "192.168.1.11", [{ type: "ExternalIP", address: "203.0.113.9" }]),
    ];
    expect(peersOf(nodes, "self")).toEqual([
      { node: "a", podCidr: "10.42.2.0/24", ip: "192.168.1.11" },
      { node: "b", podCidr: "10.42.10.0/24", ip: "192.168.1.12" },
    ]);
  });

  test("nodes without a podCIDR, without an InternalIP, or with an IPv6 one only are left out", () => {
    const nodes = [node("no-cidr", undefined, "192.168.1.11"), node("no-ip", "10.42.1.0/24"), node("v6", "10.42.2.0/24", "fd00::1"), node("bad", "nonsense", "192.168.1.13")];
    expect(peersOf(nodes, "self")).toEqual([]);
  });

  test("two nodes claiming one podCIDR: one is picked stably (by name), not both", () => {
    const nodes = [node("z", "10.42.1.0/24", "192.168.1.20"), node("m", "10.42.1.0/24", "192.168.1.21")];
    expect(peersOf(nodes, "self")).toEqual([{ node: "m", podCidr: "10.42.1.0/24", ip: "192.168.1.21" }]);
    expect(peersOf(nodes.reverse(), "self")).toEqual([{ node: "m", podCidr: "10.42.1.0/24", ip: "192.168.1.21" }]);
  });
});
