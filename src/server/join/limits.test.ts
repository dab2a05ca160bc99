import { expect, test } from "bun:test";
import { ApiError } from "../../api/errors";
import { JoinLimiter } from "./limits";

const refusal = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return e as ApiError;
  }
  throw new Error("not refused");
};

test("in-flight requests are bounded per source and in all", () => {
  const l = new JoinLimiter({ maxInFlight: 3, maxInFlightPerSource: 2, maxFailures: 5, failureWindowMs: 60_000, maxSources: 10 });
  const a1 = l.admit("a");
  l.admit("a");
  const e = refusal(() => l.admit("a"));
  expect(e.code).toBe(429);
  expect(e.toStatus()).toMatchObject({ reason: "TooManyRequests", message: "Too many requests, please try again later.", details: { retryAfterSeconds: 1 } });
  l.admit("b");
  expect(refusal(() => l.admit("c")).code).toBe(429); // 3 in flight in all
  a1();
  a1(); // a second release of the same slot changes nothing
  l.admit("c");
  expect(refusal(() => l.admit("d")).code).toBe(429);
});

test("repeated failures make a source wait until the oldest ages out; others are not affected", () => {
  let now = 1_000_000;
  const l = new JoinLimiter({ maxInFlight: 10, maxInFlightPerSource: 10, maxFailures: 3, failureWindowMs: 60_000, maxSources: 10, now: () => now });
  for (let i = 0; i < 3; i++) {
    l.admit("x")();
    l.failed("x");
    now += 1_000;
  }
  const e = refusal(() => l.admit("x"));
  expect(e.details?.retryAfterSeconds).toBe(57);
  l.admit("y")();
  now += 57_000;
  l.admit("x")(); // the first failure is a minute old
  l.failed("x");
  expect(refusal(() => l.admit("x")).code).toBe(429);
});

test("remembers at most maxSources sources", () => {
  const l = new JoinLimiter({ maxInFlight: 10, maxInFlightPerSource: 10, maxFailures: 1, failureWindowMs: 60_000, maxSources: 2 });
  l.failed("a");
  l.failed("b");
  l.failed("c");
  expect(l.blockedFor("a")).toBe(0);
  expect(l.blockedFor("b")).toBeGreaterThan(0);
  expect(l.blockedFor("c")).toBeGreaterThan(0);
});
