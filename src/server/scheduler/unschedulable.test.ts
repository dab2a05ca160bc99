import { expect, test } from "bun:test";
import { UnschedulablePods } from "./unschedulable";

test("flush moves every waiting pod back to the queue once", () => {
  const queued: string[] = [];
  const u = new UnschedulablePods((k) => queued.push(k), { flushDelayMs: 1, retryIntervalMs: 60_000 });
  u.add("a");
  u.add("b");
  u.add("a");
  u.flush();
  u.flush();
  expect(queued).toEqual(["a", "b"]);
  expect(u.size).toBe(0);
});

test("a burst of cluster events causes a single retry", async () => {
  const queued: string[] = [];
  const u = new UnschedulablePods((k) => queued.push(k), { flushDelayMs: 5, retryIntervalMs: 60_000 });
  u.add("a");
  for (let i = 0; i < 100; i++) u.clusterChanged();
  await Bun.sleep(30);
  expect(queued).toEqual(["a"]);
  u.stop();
});

test("cluster events with nothing waiting do nothing", async () => {
  const queued: string[] = [];
  const u = new UnschedulablePods((k) => queued.push(k), { flushDelayMs: 1, retryIntervalMs: 60_000 });
  u.clusterChanged();
  u.add("late");
  await Bun.sleep(10);
  expect(queued).toEqual([]);
  u.delete("late");
  u.stop();
});
