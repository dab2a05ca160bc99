import { expect, test } from "bun:test";
import { WorkQueue } from "./workqueue";

test("a key added twice while waiting is handed out once", async () => {
  const q = new WorkQueue();
  q.add("a");
  q.add("a");
  q.add("b");
  expect(q.length).toBe(2);
  expect(await q.get()).toBe("a");
  expect(await q.get()).toBe("b");
});

test("a key being processed is not handed out again until done, then runs once more", async () => {
  const q = new WorkQueue();
  q.add("a");
  const first = await q.get();
  q.add("a");
  expect(q.length).toBe(0);
  let second: string | undefined;
  void q.get().then((k) => (second = k));
  await Bun.sleep(5);
  expect(second).toBeUndefined();
  q.done(first!);
  await Bun.sleep(5);
  expect(second).toBe("a");
});

test("rate-limited keys come back after a delay; forget resets the backoff", async () => {
  const q = new WorkQueue(10, 1000);
  q.addRateLimited("x");
  expect(q.length).toBe(0);
  expect(await q.get()).toBe("x");
  q.done("x");
  q.forget("x");
});

test("shutdown releases waiting takers with undefined", async () => {
  const q = new WorkQueue();
  const pending = q.get();
  q.shutdown();
  expect(await pending).toBeUndefined();
});

test("with priorityOf, higher priorities are taken first, first in first out within one", async () => {
  const priorities: Record<string, number> = { low: 0, "low-2": 0, high: 100, mid: 10, negative: -5 };
  const q = new WorkQueue(10, 1000, { priorityOf: (k) => priorities[k] ?? 0 });
  for (const k of ["low", "negative", "high", "low-2", "mid"]) q.add(k);
  expect(q.length).toBe(5);
  const order: string[] = [];
  for (let i = 0; i < 5; i++) {
    const k = (await q.get())!;
    order.push(k);
    q.done(k);
  }
  expect(order).toEqual(["high", "mid", "low", "low-2", "negative"]);
  expect(q.length).toBe(0);
});
