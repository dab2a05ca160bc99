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
