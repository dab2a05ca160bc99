import { expect, test } from "bun:test";
import { evictionDeadline, tolerates, UNREACHABLE } from "./taints";

const taint = { key: UNREACHABLE, effect: "NoExecute", timeAdded: "2024-01-01T00:00:00Z" };
const t0 = Date.parse(taint.timeAdded);
const opts = { defaultNotReadyTolerationS: 10, taintSince: () => 0 };

test("toleration matching follows upstream: Exists, Equal, empty key and effect", () => {
  expect(tolerates({ operator: "Exists" }, taint)).toBe(true);
  expect(tolerates({ key: UNREACHABLE, operator: "Exists", effect: "NoExecute" }, taint)).toBe(true);
  expect(tolerates({ key: UNREACHABLE, operator: "Exists", effect: "NoSchedule" }, taint)).toBe(false);
  expect(tolerates({ key: "k", value: "v" }, { key: "k", value: "v", effect: "NoSchedule" })).toBe(true);
  expect(tolerates({ key: "k", value: "w" }, { key: "k", value: "v", effect: "NoSchedule" })).toBe(false);
  expect(tolerates({ key: "k", operator: "Bogus" }, { key: "k", effect: "NoSchedule" })).toBe(false);
});

test("eviction deadlines: the default for not-ready/unreachable, tolerationSeconds, forever, and other taints at once", () => {
  expect(evictionDeadline(undefined, [taint], opts)).toBe(t0 + 10_000);
  expect(evictionDeadline([{ key: UNREACHABLE, operator: "Exists", effect: "NoExecute", tolerationSeconds: 3 }], [taint], opts)).toBe(t0 + 3000);
  expect(evictionDeadline([{ operator: "Exists" }], [taint], opts)).toBeUndefined();
  expect(evictionDeadline(undefined, [{ key: "dedicated", effect: "NoExecute", timeAdded: taint.timeAdded }], opts)).toBe(t0);
  expect(evictionDeadline(undefined, [{ key: "soft", effect: "NoSchedule" }], opts)).toBeUndefined();
});
