// Disk pressure on a node whose images and data share one small filesystem, for real: a
// `bramble server` (with its embedded agent) in a network namespace, on a Docker engine of its
// own whose --data-root sits on a tmpfs this test mounts, with the server's data dir on the same
// tmpfs. Unused images imported into that engine take real space there; a pod writes its
// emptyDir (on the data dir) past `--eviction-hard nodefs.available<…`. As upstream's kubelet,
// the node reports DiskPressure and first reclaims node-level resources — unused images, only
// as many as the threshold needs — and evicts the pod only when that is not enough; the node
// recovers once the pod's volume is gone. The images in use and the pause image stay.
//
// The periodic image GC is off (--image-gc-high-threshold 100) so every removal seen here is the
// eviction manager's reclaim; --minimum-image-ttl-duration 0 lets images imported a moment ago go.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statfsSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { buildTar } from "../src/agent/images/tar";
import { PAUSE_IMAGE } from "../src/agent/images/pause";
import { TEST_IMAGE, ensureTestImage } from "../src/agent/images/testimage";
import { eventually } from "./helpers/eventually";
import { netnsServerSkipReason, startNetnsServer, type NetnsServer } from "./helpers/netns-server";

const Mi = 1024 * 1024;
/** The node's one filesystem: engine data root, server data dir, logs. */
const DISK_MB = 512;
const THRESHOLD_MB = 200;
/** Each unused image: this much padding of its own (distinct bytes, so no two share a layer). */
const FILLER_MB = 40;
const FILLERS = ["one", "two", "three"].map((n) => `bramble/filler-${n}:1`);

let node: NetnsServer | undefined;
let nodeDir = "";

const logText = () => {
  try {
    return readFileSync(join(nodeDir, "bramble.log"), "utf8");
  } catch {
    return "";
  }
};
const context = () => `--- bramble (last lines) ---\n${logText().split("\n").slice(-80).join("\n")}`;
const wait = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 120_000) => eventually(what, f, { timeoutMs, intervalMs: 500, context });
const getJson = async (...args: string[]) => {
  const r = await node!.kubectl(...args, "-o", "json");
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};
const condition = (n: any, type: string) => n.status?.conditions?.find((c: any) => c.type === type);
const tags = async () => (await node!.docker.listImages()).flatMap((i) => i.repoTags);
const available = () => {
  const fs = statfsSync(nodeDir);
  return Number(fs.bavail) * Number(fs.bsize);
};
/** Line numbers (in bramble.log) of lines containing `text`. */
const linesWith = (text: string) =>
  logText()
    .split("\n")
    .flatMap((l, i) => (l.includes(text) ? [i] : []));

describe.skipIf(!!netnsServerSkipReason)("disk pressure with images on the data dir's filesystem", () => {
  beforeAll(async () => {
    node = await startNetnsServer("reclaim", {
      async prepareNodeDir(dir) {
        nodeDir = dir;
        const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${DISK_MB}m`, "tmpfs", dir]);
        if (mounted.exitCode !== 0) throw new Error(`cannot mount a tmpfs on ${dir}: ${mounted.stderr.toString()}`);
      },
      async beforeServer({ docker }) {
        await ensureTestImage(docker);
        // Never run, so a padding file is all they hold.
        for (const [i, ref] of FILLERS.entries()) await docker.importImage(buildTar([{ name: "pad.bin", data: new Uint8Array(FILLER_MB * Mi).fill(i + 1) }]), ref, ['CMD ["/nothing"]']);
      },
      serverArgs: [
        "--eviction-hard", `nodefs.available<${THRESHOLD_MB}Mi`,
        "--eviction-pressure-transition-period", "10s",
        "--image-gc-high-threshold", "100",
        "--minimum-image-ttl-duration", "0s",
      ],
    });
  }, 240_000);

  afterAll(async () => {
    await node?.destroy();
  }, 120_000);

  test("DiskPressure; unused images go first, only as many as needed; then the writer is evicted; the node recovers", async () => {
    const n = node!;
    // The engine really keeps its data on the node's small filesystem, as does the server.
    const info = await fetch("http://docker/info", { unix: n.dockerSocket }).then((r) => r.json() as Promise<{ DockerRootDir: string; Driver: string }>);
    expect(info.DockerRootDir.startsWith(`${nodeDir}/`)).toBe(true);
    expect(n.dataDir.startsWith(`${nodeDir}/`)).toBe(true);
    console.log(`engine storage driver: ${info.Driver}; filesystem ${DISK_MB} MiB, ${Math.round(available() / Mi)} MiB available with the images`);
    const sizes = new Map((await n.docker.listImages()).flatMap((i) => i.repoTags.map((t) => [t, i.sizeBytes] as const)));
    for (const f of FILLERS) expect(sizes.get(f)).toBeGreaterThanOrEqual(FILLER_MB * Mi);
    await wait("the node without disk pressure", async () => condition(await getJson("get", "node", n.nodeName), "DiskPressure")?.status === "False");
    expect(await tags()).toEqual(expect.arrayContaining([PAUSE_IMAGE, TEST_IMAGE, ...FILLERS]));

    // Stage 1: 15 MiB short of the threshold — one unused image (40 MiB) is enough.
    const stage1 = Math.ceil((available() - (THRESHOLD_MB - 15) * Mi) / Mi);
    expect(stage1).toBeGreaterThan(0);
    const writer = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "writer" },
      spec: {
        nodeName: n.nodeName,
        terminationGracePeriodSeconds: 1,
        restartPolicy: "Never",
        containers: [
          {
            name: "main",
            image: TEST_IMAGE,
            imagePullPolicy: "Never",
            // Stage 2 starts when the test drops /scratch/go.
            command: ["sh", "-c", `trap 'exit 0' TERM; dd if=/dev/zero of=/scratch/a bs=1M count=${stage1}; while [ ! -f /scratch/go ]; do sleep 1; done; dd if=/dev/zero of=/scratch/b bs=1M count=$(cat /scratch/go); sleep 3600 & wait`],
            volumeMounts: [{ name: "scratch", mountPath: "/scratch" }],
          },
        ],
        volumes: [{ name: "scratch", emptyDir: {} }],
      },
    };
    const applied = await n.kubectlWith(JSON.stringify(writer), "apply", "-f", "-");
    expect(applied.stderr).toBe("");
    const pressured = await wait("DiskPressure True", async () => {
      const x = await getJson("get", "node", n.nodeName);
      return condition(x, "DiskPressure")?.status === "True" && x;
    });
    expect(condition(pressured, "DiskPressure")).toMatchObject({ reason: "KubeletHasDiskPressure", message: "kubelet has disk pressure" });
    await wait("reclaim relieved the pressure", async () => linesWith("reclaim relieved the pressure").length > 0);
    const afterStage1 = await tags();
    const gone1 = FILLERS.filter((f) => !afterStage1.includes(f));
    expect(gone1).toHaveLength(1);
    expect(afterStage1).toEqual(expect.arrayContaining([PAUSE_IMAGE, TEST_IMAGE]));
    const reclaiming = linesWith("reclaiming node-level resources before evicting pods");
    expect(reclaiming.length).toBeGreaterThan(0);
    expect(linesWith("removed an unused image")).toHaveLength(1);
    expect(reclaiming[0]!).toBeLessThan(linesWith("removed an unused image")[0]!);
    expect(linesWith("evicting a pod")).toEqual([]);
    expect((await getJson("get", "pod", "writer")).status.phase).toBe("Running");
    await wait("DiskPressure False after the reclaim", async () => condition(await getJson("get", "node", n.nodeName), "DiskPressure")?.status === "False");

    // Stage 2: past what the remaining unused images can give back.
    const uid = (await getJson("get", "pod", "writer")).metadata.uid;
    const scratch = [...new Bun.Glob(`**/pods/${uid}/volumes/kubernetes.io~empty-dir/scratch`).scanSync({ cwd: n.dataDir, onlyFiles: false })];
    expect(scratch).toHaveLength(1);
    const stage2 = Math.ceil((available() - THRESHOLD_MB * Mi) / Mi) + 2 * FILLER_MB + 40;
    writeFileSync(join(n.dataDir, scratch[0]!, "go"), `${stage2}\n`);
    const evicted = await wait("writer evicted", async () => {
      const p = await getJson("get", "pod", "writer");
      return p.status?.phase === "Failed" && p;
    });
    expect(evicted.status.reason).toBe("Evicted");
    expect(evicted.status.message).toMatch(/^The node was low on resource: ephemeral-storage\. Threshold quantity: 200Mi, available: \d+(Ki|Mi)?\. $/);
    const event = (await getJson("get", "events", "--field-selector", "involvedObject.name=writer,reason=Evicted")).items[0];
    expect(event?.message).toBe(evicted.status.message);
    // Every unused image went before the eviction; the pause image and the image in use stayed.
    const afterStage2 = await tags();
    expect(afterStage2.filter((t) => FILLERS.includes(t))).toEqual([]);
    expect(afterStage2).toEqual(expect.arrayContaining([PAUSE_IMAGE, TEST_IMAGE]));
    const removed = linesWith("removed an unused image");
    const notEnough = linesWith("reclaim was not enough; evicting");
    const evicting = linesWith("evicting a pod");
    expect(removed).toHaveLength(FILLERS.length);
    expect(notEnough.length).toBeGreaterThan(0);
    expect(evicting.length).toBeGreaterThan(0);
    expect(Math.max(...removed)).toBeLessThan(notEnough[0]!);
    expect(notEnough[0]!).toBeLessThan(evicting[0]!);

    // The pod's volume goes with it: space returns and so does the condition.
    const recovered = await wait("DiskPressure False again", async () => {
      const x = await getJson("get", "node", n.nodeName);
      return condition(x, "DiskPressure")?.status === "False" && x;
    });
    expect(condition(recovered, "DiskPressure").reason).toBe("KubeletHasNoDiskPressure");
    expect(available()).toBeGreaterThan(THRESHOLD_MB * Mi);
    console.log(`after recovery: ${Math.round(available() / Mi)} MiB available; reclaim removed ${removed.length} images (${gone1.length} in stage 1)`);
  }, 300_000);
});

