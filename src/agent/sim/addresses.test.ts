import { expect, test } from "bun:test";
import { fallbackPodCidr, PodIpam, simHostIP, usablePodIPs } from "./addresses";

test("fallback pod CIDRs: a /24 per node by index, smaller blocks when the range is too small", () => {
  expect(fallbackPodCidr("10.42.0.0/16", 3, 0)).toBe("10.42.0.0/24");
  expect(fallbackPodCidr("10.42.0.0/16", 3, 2)).toBe("10.42.2.0/24");
  expect(fallbackPodCidr("10.42.0.0/16", 256, 255)).toBe("10.42.255.0/24");
  expect(fallbackPodCidr("10.42.0.0/16", 1000, 999)).toBe("10.42.249.192/26");
  expect(usablePodIPs("10.42.0.0/24")).toBe(253);
  expect(simHostIP(0)).toBe("172.31.0.1");
  expect(simHostIP(300)).toBe("172.31.1.45");
});

test("pod IPs: stable per pod, round-robin, adoptable, exhausted gracefully", () => {
  const ipam = new PodIpam("10.42.1.0/29"); // .2 ... .6 usable
  expect(ipam.allocate("a")).toBe("10.42.1.2");
  expect(ipam.allocate("a")).toBe("10.42.1.2");
  ipam.reserve("b", "10.42.1.3");
  ipam.reserve("x", "10.9.9.9"); // outside: ignored
  expect(ipam.allocate("c")).toBe("10.42.1.4");
  ipam.release("a");
  expect(ipam.allocate("d")).toBe("10.42.1.5"); // not the just-freed .2
  expect(ipam.allocate("e")).toBe("10.42.1.6");
  expect(ipam.allocate("f")).toBe("10.42.1.2");
  expect(ipam.allocate("g")).toBeUndefined();
  expect(ipam.used).toBe(5);
});
