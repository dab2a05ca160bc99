import { expect, test } from "bun:test";
import type { Deployment } from "../../../api/resources/apps/deployment";
import { computeHash, fnv32a, safeEncodeString, templatesEqualIgnoringHash } from "./hash";
import { maxSurge, maxUnavailable, scaledValue } from "./rsutil";

const d = (replicas: number, maxSurge?: number | string, maxUnavailable?: number | string): Deployment =>
  ({ metadata: { name: "d" }, spec: { replicas, strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge, maxUnavailable } } } }) as Deployment;

test("percentages round up for surge and down for unavailability; both zero means one unavailable", () => {
  expect(scaledValue("25%", 10, true)).toBe(3);
  expect(scaledValue("25%", 10, false)).toBe(2);
  expect(scaledValue(4, 10, false)).toBe(4);
  expect(maxSurge(d(10, "25%", "25%"))).toBe(3);
  expect(maxUnavailable(d(10, "25%", "25%"))).toBe(2);
  expect(maxUnavailable(d(3, "10%", "10%"))).toBe(0);
  expect(maxUnavailable(d(3, 0, "10%"))).toBe(1); // fencepost: 0 surge and 0 unavailable cannot roll
  expect(maxUnavailable(d(2, 1, 5))).toBe(2); // never more than the replicas
  expect(maxUnavailable({ ...d(3, 1, 1), spec: { ...d(3).spec!, strategy: { type: "Recreate" } } } as Deployment)).toBe(0);
});

test("FNV-32a and the safe encoding match upstream's definitions", () => {
  expect(fnv32a(new TextEncoder().encode(""))).toBe(0x811c9dc5);
  expect(fnv32a(new TextEncoder().encode("a"))).toBe(0xe40c292c);
  expect(safeEncodeString("0123456789")).toBe("456789bcdf"); // '0' is 48; 48 % 27 = 21 → "4"
});

test("the template hash ignores key order, changes with the collision count, and uses safe characters", () => {
  const a = { metadata: { labels: { app: "x", tier: "web" } }, spec: { containers: [{ name: "c", image: "i" }] } };
  const b = { spec: { containers: [{ image: "i", name: "c" }] }, metadata: { labels: { tier: "web", app: "x" } } };
  expect(computeHash(a)).toBe(computeHash(b));
  expect(computeHash(a, 1)).not.toBe(computeHash(a));
  expect(computeHash(a)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]+$/);
  const hashed = { ...a, metadata: { labels: { ...a.metadata.labels, "pod-template-hash": computeHash(a) } } };
  expect(templatesEqualIgnoringHash(hashed, b)).toBe(true);
  expect(templatesEqualIgnoringHash(hashed, { ...b, spec: { containers: [{ name: "c", image: "j" }] } })).toBe(false);
});
