import { expect, test } from "bun:test";
import { Backoff } from "./backoff";

test("delays double up to the cap, within jitter, and reset starts over", () => {
  const b = new Backoff(100, 1000);
  const delays = Array.from({ length: 6 }, () => b.next());
  const expected = [100, 200, 400, 800, 1000, 1000];
  delays.forEach((d, i) => {
    expect(d).toBeGreaterThanOrEqual(expected[i]! * 0.8);
    expect(d).toBeLessThanOrEqual(expected[i]! * 1.2);
  });
  b.reset();
  expect(b.next()).toBeLessThanOrEqual(120);
});
