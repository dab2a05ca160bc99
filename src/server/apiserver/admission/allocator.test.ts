import { expect, test } from "bun:test";
import { RangeAllocator } from "./allocator";

test("allocates every number once, then reports exhaustion", () => {
  const a = new RangeAllocator(10, 14);
  const got = [a.allocate(), a.allocate(), a.allocate(), a.allocate(), a.allocate()];
  expect(new Set(got).size).toBe(5);
  expect(got.every((n) => n! >= 10 && n! <= 14)).toBe(true);
  expect(a.allocate()).toBeUndefined();
  a.release(12);
  expect(a.allocate()).toBe(12);
});

test("reserve refuses a number in use and does not hand it out", () => {
  const a = new RangeAllocator(1, 3);
  expect(a.reserve(2)).toBe(true);
  expect(a.reserve(2)).toBe(false);
  expect([a.allocate(), a.allocate()].sort()).toEqual([1, 3]);
});

test("a released number is not reused immediately while others are free", () => {
  const a = new RangeAllocator(1, 5);
  const first = a.allocate()!;
  a.release(first);
  expect(a.allocate()).not.toBe(first);
});

test("numbers below autoFrom are only given out when asked for by value", () => {
  const a = new RangeAllocator(1, 3, 2);
  expect([a.allocate(), a.allocate(), a.allocate()]).toEqual([2, 3, undefined]);
  expect(a.reserve(1)).toBe(true);
});
