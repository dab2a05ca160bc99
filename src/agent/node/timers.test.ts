import { expect, test } from "bun:test";
import { DueQueue, Limiter } from "./timers";

test("DueQueue fires keys in due order, honours reschedule and cancel", async () => {
  const fired: string[] = [];
  const q = new DueQueue((k) => fired.push(k));
  const t0 = Date.now();
  q.schedule("c", t0 + 30);
  q.schedule("a", t0 + 10);
  q.schedule("b", t0 + 20);
  q.schedule("a", t0 + 40); // moved after c
  q.schedule("d", t0 + 15);
  q.cancel("d");
  for (let i = 0; i < 100 && fired.length < 3; i++) await Bun.sleep(10);
  q.stop();
  expect(fired).toEqual(["b", "c", "a"]);
  expect(q.size).toBe(0);
});

test("a handler may reschedule its own key", async () => {
  let n = 0;
  const q: DueQueue = new DueQueue((k) => {
    if (++n < 3) q.schedule(k, Date.now() + 5);
  });
  q.schedule("x", Date.now());
  for (let i = 0; i < 100 && n < 3; i++) await Bun.sleep(5);
  q.stop();
  expect(n).toBe(3);
});

test("Limiter never runs more than its limit at once", async () => {
  const lim = new Limiter(3);
  let active = 0;
  let peak = 0;
  await Promise.all(
    Array.from({ length: 20 }, () =>
      lim.run(async () => {
        peak = Math.max(peak, ++active);
        await Bun.sleep(2);
        active--;
      }),
    ),
  );
  expect(peak).toBe(3);
});
