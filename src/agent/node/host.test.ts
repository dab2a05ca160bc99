import { expect, test } from "bun:test";
import { hostCapacity, hostSystemFacts, osImageFrom } from "./host";

test("OS image is PRETTY_NAME, quotes removed", () => {
  expect(osImageFrom('NAME="Debian GNU/Linux"\nPRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n')).toBe("Debian GNU/Linux 12 (bookworm)");
  expect(osImageFrom("PRETTY_NAME=Alpine\n")).toBe("Alpine");
  expect(osImageFrom(undefined)).toBe("Unknown");
});

test("host facts fill what get nodes -o wide shows", () => {
  const f = hostSystemFacts("docker://1.2.3");
  expect(f.kernelVersion).toBeTruthy();
  expect(f.operatingSystem).toBe("linux");
  expect(f.containerRuntimeVersion).toBe("docker://1.2.3");
  const c = hostCapacity();
  expect(Number(c.cpu)).toBeGreaterThan(0);
  expect(c.memory).toMatch(/^\d+Ki$/);
  expect(c.pods).toBe("110");
});
