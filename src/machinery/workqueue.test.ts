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

test("a named queue exposes client-go's workqueue metrics", async () => {
  const { metrics } = await import("./prometheus");
  const name = `metrics-test-${Math.random().toString(36).slice(2)}`;
  const q = new WorkQueue(1, 10, { name });
  q.add("a");
  q.add("b");
  q.add("a"); // deduped: not an add
  const key = await q.get();
  q.done(key!);
  const text = metrics.render();
  const value = (series: string) => Number(text.match(new RegExp(`^${series.replace(/[{}]/g, "\\$&")} (\\S+)$`, "m"))?.[1]);
  expect(value(`workqueue_adds_total{name="${name}"}`)).toBe(2);
  expect(value(`workqueue_depth{name="${name}"}`)).toBe(1);
  expect(value(`workqueue_queue_duration_seconds_count{name="${name}"}`)).toBe(1);
  expect(value(`workqueue_work_duration_seconds_count{name="${name}"}`)).toBe(1);
  q.addRateLimited("c");
  expect(metrics.render()).toContain(`workqueue_retries_total{name="${name}"} 1\n`);
  q.shutdown();
});
