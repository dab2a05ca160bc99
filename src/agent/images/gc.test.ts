import { beforeEach, describe, expect, test } from "bun:test";
import { FakeRuntime } from "../runtime/fake/fake";
import { LABELS, type ContainerSpec } from "../runtime/runtime";
import { ImageGarbageCollector, reclaimDisk, type ImageGcPolicy } from "./gc";
import { PAUSE_IMAGE } from "./pause";
import { ImageUsageRecords } from "./usage";

const MIN = 60_000;
const POLICY: ImageGcPolicy = { highThresholdPercent: 85, lowThresholdPercent: 80, minimumAgeMs: 2 * MIN };
const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet } as never;

let rt: FakeRuntime;
let clock: number;
let records: ImageUsageRecords;
let events: string[];
/** Bytes used on the 1000-byte image filesystem besides the images. */
let otherUsage: number;
const readImageFs = async () => {
  const images = [...rt.images.values()].reduce((sum, i) => sum + i.sizeBytes, 0);
  return { capacityBytes: 1000, availableBytes: 1000 - otherUsage - images };
};
const gc = (policy = POLICY) =>
  new ImageGarbageCollector(policy, { runtime: rt, records, readImageFs, pauseImage: PAUSE_IMAGE, event: (type, reason, message) => events.push(`${type} ${reason} ${message}`), log: quiet });
const image = (name: string, sizeBytes = 50, labels: Record<string, string> = {}) => rt.addImage(name, undefined, ["sleep", "1000"], { sizeBytes, labels });
const present = () => [...rt.images.keys()].sort();
let n = 0;
async function container(img: string, opts: { run?: boolean; labels?: Record<string, string> } = {}): Promise<string> {
  const spec: ContainerSpec = { name: `c${n++}`, image: img, labels: opts.labels ?? {} };
  const id = await rt.createContainer(spec);
  if (opts.run !== false) await rt.startContainer(id);
  return id;
}

beforeEach(() => {
  rt = new FakeRuntime();
  clock = 1_000_000;
  records = new ImageUsageRecords(() => clock);
  events = [];
  otherUsage = 0;
  image(PAUSE_IMAGE, 10);
});

describe("image GC (fake runtime)", () => {
  test("removes unused images least recently used first, and stops at the low threshold", async () => {
    image("a:1");
    await records.detect(rt); // a: first seen at 0, never used
    clock += 10_000;
    image("b:1");
    image("c:1");
    image("d:1");
    const usesC = await container("c:1");
    const usesD = await container("d:1");
    await records.detect(rt); // b first seen at 10 s; c and d used at 10 s
    await rt.removeContainer(usesC);
    clock += 50_000;
    await records.detect(rt); // d used at 60 s
    await rt.removeContainer(usesD);
    clock += 5 * MIN;

    otherUsage = 700; // 700 + 4 × 50 + 10 (pause) = 910 of 1000: 91 % ≥ 85 %
    const freed = await gc().garbageCollect();
    // Down to 80 %: 200 bytes must be available, 90 are: 110 to free, three 50-byte images.
    expect(freed.removedImages).toEqual(["a:1", "b:1", "c:1"]);
    expect(freed.freedBytes).toBe(150);
    expect(present()).toEqual(["bramble/pause:1", "d:1"]);
    expect(events).toEqual([]);
    // Only through the removal that refuses images in use, never a forced one.
    expect(rt.calls.filter((c) => c.startsWith("remove image"))).toHaveLength(3);
  });

  test("does nothing below the high threshold", async () => {
    image("a:1");
    await records.detect(rt);
    clock += 10 * MIN;
    otherUsage = 780; // 780 + 60 = 840: 84 %
    expect(await gc().garbageCollect()).toEqual({ freedBytes: 0, removedImages: [] });
    expect(present()).toContain("a:1");
  });

  test("keeps images a container uses (running or stopped), the pause image and pinned images; says so with upstream's event", async () => {
    image("running:1", 100);
    image("stopped:1", 100);
    image("pinned:1", 100, { [LABELS.pinnedImage]: "true" });
    await container("running:1");
    const stopped = await container("stopped:1");
    await rt.stopContainer(stopped, 0);
    await container(PAUSE_IMAGE);
    await records.detect(rt);
    clock += 10 * MIN;
    otherUsage = 600; // 600 + 310 = 91 %
    // The collector itself leaves them out: it does not even ask (the engine's refusal is only the backstop).
    const asked: string[] = [];
    const remove = rt.removeUnusedImage.bind(rt);
    rt.removeUnusedImage = (id) => (asked.push(id), remove(id));
    const collector = gc();
    await expect(collector.garbageCollect()).rejects.toThrow("Failed to garbage collect required amount of images. Attempted to free 110 bytes, but only found 0 bytes eligible to free.");
    expect(present()).toEqual(["bramble/pause:1", "pinned:1", "running:1", "stopped:1"]);
    expect(asked).toEqual([]);
    // Also with no minimum age, where "used just now" no longer keeps them by itself.
    await expect(gc({ ...POLICY, minimumAgeMs: 0 }).garbageCollect()).rejects.toThrow("only found 0 bytes eligible");
    expect(asked).toEqual([]);
    events.pop();
    expect(events).toEqual(["Warning FreeDiskSpaceFailed Failed to garbage collect required amount of images. Attempted to free 110 bytes, but only found 0 bytes eligible to free."]);
  });

  test("the pause image stays even when nothing uses it", async () => {
    await records.detect(rt);
    clock += 10 * MIN;
    otherUsage = 900;
    await expect(gc().garbageCollect()).rejects.toThrow("only found 0 bytes eligible");
    expect(present()).toEqual(["bramble/pause:1"]);
  });

  test("minimum age: an image seen for less than the TTL, or used less than the TTL ago, stays", async () => {
    image("old-unused:1");
    image("recently-used:1");
    const user = await container("recently-used:1");
    await records.detect(rt);
    clock += 5 * MIN;
    await records.detect(rt); // recently-used last used at 5 min
    await rt.removeContainer(user);
    image("new:1");
    clock += 1 * MIN; // new: seen 0 min ago at the check; recently-used: unused for ≤ 1 min
    otherUsage = 800; // 800 + 150 + 10 = 96 %: 160 to free, only old-unused (50) may go
    await expect(gc().garbageCollect()).rejects.toThrow("Attempted to free 160 bytes, but only found 50 bytes eligible to free.");
    expect(present()).toEqual(["bramble/pause:1", "new:1", "recently-used:1"]);
    clock += 2 * MIN; // new and recently-used are now old enough and unused long enough
    otherUsage = 750; // 750 + 150 + 10 = 86 %: 60 to free, new (never used) goes first, then recently-used
    await gc().garbageCollect();
    expect(present()).toEqual(["bramble/pause:1"]);
  });

  test("after a restart (fresh records) every image waits out the minimum age again", async () => {
    image("a:1");
    await records.detect(rt);
    clock += 60 * MIN;
    records = new ImageUsageRecords(() => clock); // the agent restarted
    otherUsage = 790; // 790 + 50 + 10 = 85 %: 50 to free
    await expect(gc().garbageCollect()).rejects.toThrow("only found 0 bytes eligible");
    expect(present()).toContain("a:1");
    clock += 2 * MIN;
    await gc().garbageCollect();
    expect(present()).not.toContain("a:1");
  });

  test("ImageGCFailed only when checks fail twice in a row, as upstream", async () => {
    otherUsage = 950;
    const collector = gc();
    await collector.check();
    expect(events.map((e) => e.split(" ")[1])).toEqual(["FreeDiskSpaceFailed"]);
    await collector.check();
    expect(events.map((e) => e.split(" ")[1])).toEqual(["FreeDiskSpaceFailed", "FreeDiskSpaceFailed", "ImageGCFailed"]);
    expect(events[2]).toStartWith("Warning ImageGCFailed Failed to garbage collect required amount of images.");
  });

  test("a high threshold of 100 turns it off", async () => {
    const collector = gc({ ...POLICY, highThresholdPercent: 100, lowThresholdPercent: 80 });
    expect(collector.enabled).toBe(false);
    collector.start(1, 1);
    await Bun.sleep(20);
    await collector.stop();
    expect(records.records.size).toBe(0); // never even looked
  });

  test("a filesystem that reports no capacity is an error, not a division by zero", async () => {
    const collector = new ImageGarbageCollector(POLICY, { runtime: rt, records, readImageFs: async () => ({ capacityBytes: 0, availableBytes: 0 }), event: (t, r, m) => events.push(`${t} ${r} ${m}`), log: quiet });
    await expect(collector.garbageCollect()).rejects.toThrow("invalid capacity 0 on image filesystem");
    expect(events).toEqual(["Warning InvalidDiskCapacity invalid capacity 0 on image filesystem"]);
  });
});

describe("reclaimDisk (fake runtime)", () => {
  const OURS = { [LABELS.managed]: "true", "io.bramble.node": "n1" };
  const labels = (pod: string, name: string, attempt: number, kind = "app") => ({ ...OURS, [LABELS.podUid]: pod, [LABELS.container]: name, [LABELS.kind]: kind, [LABELS.restartCount]: String(attempt) });
  const dead = async (img: string, l: Record<string, string>) => {
    const id = await container(img, { labels: l });
    rt.exit(id, 1);
    return id;
  };
  const owns = (l: Record<string, string>) => l["io.bramble.node"] === "n1";

  test("dead containers first (the newest dead attempt per pod container stays; a finished pod's all go), then images, to the target", async () => {
    image("app:1");
    image("job:1");
    image("spare:1");
    image("spare:2");
    const keep = await dead("app:1", labels("live", "web", 2));
    const older = await dead("app:1", labels("live", "web", 1));
    const sandbox = await dead(PAUSE_IMAGE, labels("live", "POD", 0, "pause"));
    const jobRun = await dead("job:1", labels("done", "job", 0));
    const theirs = await dead("app:1", { ...labels("other", "web", 0), "io.bramble.node": "n2" });
    const running = await container("app:1", { labels: labels("live", "side", 0) });
    await records.detect(rt);
    clock += 10 * MIN;
    otherUsage = 700; // 700 + 210 = 910
    const r = await reclaimDisk(rt, { targetUsagePercent: 85 }, { records, readImageFs, owns, podIsTerminal: (uid) => uid === "done", log: quiet });
    expect(r.removedContainers).toBe(2);
    const left = [...rt.containers.keys()];
    expect(left).toContain(keep);
    expect(left).toContain(sandbox);
    expect(left).toContain(theirs);
    expect(left).toContain(running);
    expect(left).not.toContain(older);
    expect(left).not.toContain(jobRun);
    // job:1 is unused now; with the spares, the least recently used go until 150 bytes are available.
    expect(r.removedImages).toHaveLength(2);
    expect(r.freedBytes).toBe(100);
    expect(present()).toContain("app:1");
    expect(present()).toContain("bramble/pause:1");
    const fs = await readImageFs();
    expect(fs.availableBytes).toBeGreaterThanOrEqual(150);
  });

  test("targetFreeBytes: stops once that much is available; nothing to do when it already is", async () => {
    image("a:1");
    image("b:1");
    await records.detect(rt);
    clock += 10 * MIN;
    otherUsage = 780; // 780 + 100 + 10 (pause): 110 bytes available
    expect(await reclaimDisk(rt, { targetFreeBytes: 100 }, { records, readImageFs, log: quiet })).toEqual({ freedBytes: 0, removedImages: [], removedContainers: 0 });
    const r = await reclaimDisk(rt, { targetFreeBytes: 150 }, { records, readImageFs, log: quiet });
    expect(r).toEqual({ freedBytes: 50, removedImages: ["a:1"], removedContainers: 0 });
  });

  test("without shared records every image is new and waits out the minimum age; without `owns` no container goes", async () => {
    image("a:1");
    const d = await dead("a:1", labels("live", "web", 0));
    await dead("a:1", labels("live", "web", 1));
    otherUsage = 900;
    const r = await reclaimDisk(rt, { targetFreeBytes: 500 }, { readImageFs, log: quiet });
    expect(r).toEqual({ freedBytes: 0, removedImages: [], removedContainers: 0 });
    expect(rt.containers.has(d)).toBe(true);
  });
});
