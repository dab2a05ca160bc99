import { expect, test } from "bun:test";
import { ControlLoop } from "./controlloop";

test("failed keys are retried with backoff while other keys keep flowing", async () => {
  const attempts = new Map<string, number>();
  const done: string[] = [];
  const loop = new ControlLoop({
    name: "test",
    async reconcile(key) {
      const n = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, n);
      if (key === "flaky" && n < 3) throw new Error("not yet");
      done.push(key);
    },
  });
  loop.start();
  loop.enqueue("flaky");
  loop.enqueue("steady");
  for (let i = 0; i < 100 && !done.includes("flaky"); i++) await Bun.sleep(20);
  await loop.stop();
  expect(done).toContain("steady");
  expect(done).toContain("flaky");
  expect(attempts.get("flaky")).toBe(3);
  expect(attempts.get("steady")).toBe(1);
});

test("one key is never reconciled by two workers at once", async () => {
  let inFlight = 0;
  let maxInFlight = 0;
  const loop = new ControlLoop(
    {
      name: "test",
      async reconcile() {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await Bun.sleep(5);
        inFlight--;
      },
    },
    4,
  );
  loop.start();
  for (let i = 0; i < 20; i++) {
    loop.enqueue("same");
    await Bun.sleep(1);
  }
  await Bun.sleep(30);
  await loop.stop();
  expect(maxInFlight).toBe(1);
});
