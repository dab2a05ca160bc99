// Image garbage collection and container log rotation on the real Docker engine.
//
// Image GC: images this test imports (several distinct small ones) are really removed from the
// engine by the collector, driven deterministically: the filesystem usage it reads is injected
// (it gains exactly what removed images took) and so is its clock, so thresholds and the minimum
// age decide without depending on this machine's disk. The engine is shared (other tests, the
// machine's own images), so the collector only ever considers images carrying this run's name —
// the images in use, the pause image and the pinned one among them, so their staying is the
// collector's rule and not the filter's.
//
// Log rotation: a `bramble server` started with --container-log-max-size 1Mi
// --container-log-max-files 3 runs a pod that writes ~5 MiB; its container has those json-file
// options, and the engine keeps exactly three files of at most ~1 MiB each.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { statfs } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { ImageGarbageCollector, reclaimDisk, statfsReader, type ImageGcPolicy } from "../src/agent/images/gc";
import { buildTar } from "../src/agent/images/tar";
import { busyboxTar, ensureTestImage } from "../src/agent/images/testimage";
import { ImageUsageRecords } from "../src/agent/images/usage";
import { dockerForTests } from "../src/agent/runtime/docker/testing";
import { LABELS, NotFoundError, type ImageSummary } from "../src/agent/runtime/runtime";
import { testEnv } from "./helpers/env";
import { eventually } from "./helpers/eventually";
import { shContainer } from "./helpers/pods";
import { parseJson, startTestServer, type TestServer } from "./helpers/server";

const docker = await dockerForTests("image GC and log rotation tests");
setDefaultTimeout(120_000);
const run = `igc${Date.now().toString(36)}`;
const PREFIX = `bramble/${run}-`;
const label = "io.bramble.image-gc-test";
const quiet = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet } as never;

const ref = (name: string) => `${PREFIX}${name}:1`;
const ours = (i: ImageSummary) => i.repoTags.some((t) => t.startsWith(PREFIX));
const MIN = 60_000;

describe.skipIf(!docker)("image GC on the real engine", () => {
  const rt = docker!;
  let clock = Date.now();
  const records = new ImageUsageRecords(() => clock);
  const events: string[] = [];
  const sizes = new Map<string, number>();
  /** Usage of a made-up 1 GiB-ish filesystem: what the test sets, plus this run's images still on the engine. */
  let capacity = 0;
  let otherUsed = 0;
  const readImageFs = async () => {
    const present = (await rt.listImages()).filter(ours).reduce((sum, i) => sum + i.sizeBytes, 0);
    return { capacityBytes: capacity, availableBytes: capacity - otherUsed - present };
  };
  const policy: ImageGcPolicy = { highThresholdPercent: 85, lowThresholdPercent: 80, minimumAgeMs: 2 * MIN };
  const collector = new ImageGarbageCollector(policy, {
    runtime: rt,
    records,
    readImageFs,
    pauseImage: ref("pause"),
    removable: ours,
    event: (type, reason, message) => events.push(`${type} ${reason} ${message}`),
    log: quiet,
  });
  const present = async () => (await rt.listImages()).filter(ours).flatMap((i) => i.repoTags).sort();
  const importSmall = (name: string, bytes: number, changes: string[] = []) =>
    rt.importImage(buildTar([{ name: `${name}.bin`, data: name[0]!.repeat(bytes) }]), ref(name), ['CMD ["/nothing"]', ...changes]);
  /** A container that exists but never runs: it holds its image as a stopped one does. */
  const holder = (name: string) => rt.createContainer({ name: `${run}-holds-${name}-${Date.now()}`, image: ref(name), labels: { [label]: run } });

  beforeAll(async () => {
    const busybox = new Uint8Array(await Bun.file("/bin/busybox").arrayBuffer());
    // Runnable images of this run's own (a LABEL makes each a distinct image).
    for (const name of ["inuse", "stopped"]) await rt.importImage(busyboxTar(busybox), ref(name), ["ENV PATH=/bin", `LABEL ${label}="${name}"`]);
    const running = await rt.createContainer({ name: `${run}-running`, image: ref("inuse"), cmd: ["sleep", "100000"], labels: { [label]: run } });
    await rt.startContainer(running);
    const stopped = await rt.createContainer({ name: `${run}-stopped`, image: ref("stopped"), cmd: ["true"], labels: { [label]: run } });
    await rt.startContainer(stopped);
    await eventually("the stopped container to exit", async () => (await rt.inspectContainer(stopped)).state === "exited");
    await importSmall("pause", 20_000);
    await importSmall("pinned", 20_000, [`LABEL ${LABELS.pinnedImage}="true"`]);

    // u1 .. u5: least recently used first is u1 (never used, seen first), u2 (never used, seen
    // later), then u3, u4, u5 (used until 20 s, 30 s, 40 s).
    await importSmall("u1", 30_000);
    await records.detect(rt);
    clock += 10_000;
    await importSmall("u2", 40_000);
    await records.detect(rt);
    clock += 10_000;
    for (const [name, bytes] of [["u3", 50_000], ["u4", 60_000], ["u5", 70_000]] as const) await importSmall(name, bytes);
    const holders = new Map<string, string>();
    for (const name of ["u3", "u4", "u5"]) holders.set(name, await holder(name));
    for (const name of ["u3", "u4", "u5"]) {
      await records.detect(rt);
      await rt.removeContainer(holders.get(name)!);
      clock += 10_000;
    }
    for (const i of (await rt.listImages()).filter(ours)) sizes.set(i.repoTags.find((t) => t.startsWith(PREFIX))!, i.sizeBytes);
  });

  afterAll(async () => {
    for (const c of await rt.listContainers({ [label]: run })) await rt.removeContainer(c.id);
    for (const i of (await rt.listImages()).filter(ours)) await rt.removeImage(i.id);
  });

  test("the default filesystem reader measures the engine's data root", async () => {
    const fs = await statfsReader(rt)();
    const root = await statfs((await rt.imageFsPath())!);
    expect(fs.capacityBytes).toBe(root.blocks * root.bsize);
    expect(fs.capacityBytes).toBeGreaterThan(0);
    expect(fs.availableBytes).toBeGreaterThanOrEqual(0);
    expect(fs.availableBytes).toBeLessThanOrEqual(fs.capacityBytes);
  });

  test("every image imported is distinct and listed with its size", () => {
    expect([...sizes.keys()].sort()).toEqual(["inuse", "pause", "pinned", "stopped", "u1", "u2", "u3", "u4", "u5"].map(ref).sort());
    for (const size of sizes.values()) expect(size).toBeGreaterThan(0);
  });

  test("over the high threshold: unused images go least recently used first, until usage is at the low threshold", async () => {
    clock += 3 * MIN;
    // Enough to free that u1, u2 and all but one byte of u3 must go — and not u4.
    const need = sizes.get(ref("u1"))! + sizes.get(ref("u2"))! + sizes.get(ref("u3"))! - 1;
    capacity = 10 * need;
    const ourSize = [...sizes.values()].reduce((a, b) => a + b, 0);
    otherUsed = capacity - ourSize - (Math.floor(capacity * 0.2) - need); // available = 20 % - need: 90 % used
    const before = await readImageFs();
    expect(100 - Math.floor((before.availableBytes * 100) / before.capacityBytes)).toBeGreaterThanOrEqual(85);

    const freed = await collector.garbageCollect();
    expect(freed.removedImages).toEqual([ref("u1"), ref("u2"), ref("u3")]);
    expect(await present()).toEqual(["inuse", "pause", "pinned", "stopped", "u4", "u5"].map(ref).sort());
    const after = await readImageFs();
    expect(after.availableBytes).toBeGreaterThanOrEqual(Math.floor(after.capacityBytes * 0.2));
    expect(events).toEqual([]);

    // At the low threshold now: the next check removes nothing.
    expect((await collector.garbageCollect()).removedImages).toEqual([]);
    expect(await present()).toEqual(["inuse", "pause", "pinned", "stopped", "u4", "u5"].map(ref).sort());
  });

  test("an image seen for less than the minimum age stays; when not enough can go, upstream's FreeDiskSpaceFailed", async () => {
    await importSmall("fresh", 25_000);
    otherUsed = capacity; // nothing available: everything eligible goes, and it is not enough
    await expect(collector.garbageCollect()).rejects.toThrow(/^Failed to garbage collect required amount of images\. Attempted to free \d+ bytes, but only found \d+ bytes eligible to free\.$/);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatch(/^Warning FreeDiskSpaceFailed Failed to garbage collect required amount of images\. Attempted to free \d+ bytes, but only found \d+ bytes eligible to free\.$/);
    // u4 and u5 were old enough and unused; the fresh one, the images containers use (running
    // and stopped), the pause image and the pinned one stay.
    expect(await present()).toEqual(["fresh", "inuse", "pause", "pinned", "stopped"].map(ref).sort());
    const freedBytes = sizes.get(ref("u4"))! + sizes.get(ref("u5"))!;
    expect(events[0]).toContain(`but only found ${freedBytes} bytes eligible to free.`);
  });
  test("reclaimDisk (for the pressure monitor): older dead attempts of a pod's container first, then unused images", async () => {
    const attempt = async (n: number) => {
      const id = await rt.createContainer({
        name: `${run}-attempt-${n}`,
        image: ref("stopped"),
        cmd: ["true"],
        // A node and cluster of this test's own: kubelets sharing the engine leave them alone.
        labels: { [label]: run, [LABELS.managed]: "true", [LABELS.cluster]: `test-${run}`, "io.bramble.node": `${run}-node`, [LABELS.podUid]: `${run}-pod`, [LABELS.container]: "c", [LABELS.kind]: "app", [LABELS.restartCount]: String(n) },
      });
      await rt.startContainer(id);
      await eventually(`attempt ${n} to exit`, async () => (await rt.inspectContainer(id)).state === "exited");
      return id;
    };
    const older = await attempt(0);
    const newer = await attempt(1);
    const freshSize = (await rt.listImages()).find((i) => i.repoTags.includes(ref("fresh")))!.sizeBytes;
    clock += 3 * MIN; // "fresh" is old enough now
    otherUsed = capacity;
    const r = await reclaimDisk(rt, { targetFreeBytes: capacity }, { records, readImageFs, pauseImage: ref("pause"), removable: ours, owns: (l) => l[label] === run, log: quiet });
    expect(r.removedContainers).toBe(1);
    await expect(rt.inspectContainer(older)).rejects.toBeInstanceOf(NotFoundError);
    expect((await rt.inspectContainer(newer)).state).toBe("exited");
    expect(r.removedImages).toEqual([ref("fresh")]);
    // The injected filesystem counts images only: what was freed is the image's size.
    expect(r.freedBytes).toBe(freshSize);
    expect(await present()).toEqual(["inuse", "pause", "pinned", "stopped"].map(ref).sort());
  });
});

describe.skipIf(!docker)("kubelet flags through `bramble server` to its node: log rotation, image GC policy", () => {
  const rt = docker!;
  const NS = `logrot-${Date.now().toString(36)}`;
  let s: TestServer;

  beforeAll(async () => {
    await ensureTestImage(rt);
    process.env.BRAMBLE_KUBELET_PORT = "0";
    // Image GC flags too, harmless here (95 % and 10 minutes: a test server lives far shorter).
    const args = ["--container-log-max-size", "1Mi", "--container-log-max-files", "3", "--image-gc-high-threshold", "95", "--image-gc-low-threshold", "90", "--minimum-image-ttl-duration", "10m"];
    s = await startTestServer({ agent: true, args });
    expect((await s.kubectl("create", "namespace", NS)).code).toBe(0);
  });

  afterAll(async () => {
    delete process.env.BRAMBLE_KUBELET_PORT;
    await s?.cleanup();
    for (const c of await rt.listContainers({ [LABELS.podNamespace]: NS })) await rt.removeContainer(c.id);
  });

  test("the container has those json-file options and the engine rotates its log at 1 MiB, keeping 3 files", async () => {
    // ~5 MiB of output: 5,000 lines of ~1 KiB, then it stays up.
    const line = "x".repeat(1000);
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "talker", namespace: NS },
      spec: { terminationGracePeriodSeconds: 0, containers: [{ name: "main", ...shContainer(`i=0; while [ $i -lt 5000 ]; do echo ${line}; i=$((i+1)); done; echo done-writing; sleep 100000`) }] },
    };
    const r = await s.kubectlWith({ stdin: JSON.stringify(pod) }, "create", "-f", "-");
    expect(r.stderr).toBe("");
    const c = await eventually(
      "the pod's container",
      async () => (await rt.listContainers({ [LABELS.podNamespace]: NS, [LABELS.kind]: "app" }))[0],
      { timeoutMs: 60_000, intervalMs: 250, context: () => s.log.slice(-5000) },
    );
    const inspect = await rt.engine.json<{ HostConfig: { LogConfig: unknown }; LogPath: string }>("GET", `/containers/${c.id}/json`);
    expect(inspect.HostConfig.LogConfig).toEqual({ Type: "json-file", Config: { "max-size": "1048576", "max-file": "3" } });

    await eventually(
      "the container to finish writing",
      async () => {
        let tail = "";
        for await (const chunk of await rt.logs(c.id, { tail: 1 })) tail += chunk.toString();
        return tail.includes("done-writing");
      },
      { timeoutMs: 90_000, intervalMs: 500, context: () => s.log.slice(-3000) },
    );
    const dir = dirname(inspect.LogPath);
    const files = readdirSync(dir).filter((f) => f.startsWith(basename(inspect.LogPath))).sort();
    expect(files).toEqual([basename(inspect.LogPath), `${basename(inspect.LogPath)}.1`, `${basename(inspect.LogPath)}.2`]);
    // Each file stops at the size (the line that crosses it is the last one in it).
    for (const f of files) expect(statSync(join(dir, f)).size).toBeLessThanOrEqual(1024 * 1024 + 2048);
    expect(existsSync(`${inspect.LogPath}.3`)).toBe(false);
  });

  test("the image GC flags reach the node's kubelet", async () => {
    await eventually("the kubelet's start", async () => s.log.includes("kubelet started"), { timeoutMs: 60_000, intervalMs: 250, context: () => s.log.slice(-3000) });
    expect(s.log).toContain('imageGc={"highThresholdPercent":95,"lowThresholdPercent":90,"minimumAgeMs":600000}');
  });
});

describe("kubelet flags on the command line", () => {
  const MAIN = join(import.meta.dir, "..", "src", "main.ts");
  const tmp = mkdtempSync(join(tmpdir(), "bramble-kubelet-flags-"));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const bramble = (...args: string[]) => {
    const p = Bun.spawnSync([process.execPath, MAIN, ...args, "--data-dir", join(tmp, "data")], { env: testEnv({}, tmp), timeout: 30_000 });
    return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
  };
  const cases: Array<[string[], string]> = [
    [["--image-gc-high-threshold", "150"], 'bramble: --image-gc-high-threshold: "150" must be a whole number between 0 and 100, inclusive'],
    [["--image-gc-low-threshold", "90"], "bramble: --image-gc-low-threshold: 90 must be less than --image-gc-high-threshold (85)"],
    [["--minimum-image-ttl-duration", "soon"], 'bramble: --minimum-image-ttl-duration: "soon" is not a duration (e.g. 20s, 1m30s)'],
    [["--container-log-max-size", "big"], "bramble: --container-log-max-size: \"big\" is not a quantity (e.g. 10Mi, 500Ki): quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"],
    [["--container-log-max-files", "1"], "bramble: --container-log-max-files: 1 must be greater than 1 (the file being written and at least one rotated one)"],
  ];
  for (const [args, line] of cases) {
    test(`server and agent refuse ${args.join(" ")} in one line`, () => {
      for (const command of ["server", "agent"]) {
        const r = bramble(command, ...args);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toBe(line + "\n");
        expect(r.stdout).toBe("");
      }
    });
  }
});
