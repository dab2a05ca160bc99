// Node pressure for real: a `bramble agent` process whose data dir sits on a small tmpfs this test
// mounts, on the machine's Docker engine, joined to a real `bramble server`. The agent measures
// the filesystem and the machine's memory itself; the pods really fill the disk and really take
// memory. Needs root (mount) and dockerd.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { Subprocess } from "bun";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hostReader } from "../src/agent/eviction/host-reader";
import { observeMemory } from "../src/agent/eviction/signals";
import { writableLayersByPod } from "../src/agent/eviction/docker-root";
import { LABELS } from "../src/agent/runtime/runtime";
import { TEST_IMAGE, ensureTestImage } from "../src/agent/images/testimage";
import { NODE_LABEL } from "../src/agent/kubelet/names";
import { dockerForTests } from "../src/agent/runtime/docker/testing";
import { testEnv } from "./helpers/env";
import { eventually } from "./helpers/eventually";
import { parseJson, ROOT, startTestServer, type TestServer } from "./helpers/server";

const MAIN = join(ROOT, "src", "main.ts");
const isRoot = process.getuid?.() === 0;
const docker = isRoot ? await dockerForTests("node pressure tests") : undefined;
if (!isRoot) {
  if (process.env.CI) throw new Error("node pressure tests: CI must run as root (they mount a tmpfs)");
  console.warn("SKIPPED node pressure tests: they mount a tmpfs and need root");
}
const NODE = `pressure-${Date.now().toString(36)}`;
const Mi = 1024 * 1024;
const DISK_MB = 64;

let server: TestServer;
let work: string;
let dataDir: string;
let joinArgs: string[] = [];
let agent: { proc: Subprocess<"ignore", "pipe", "pipe">; log: () => string } | undefined;

function startAgent(...flags: string[]) {
  let log = "";
  const proc = Bun.spawn(["bun", MAIN, "agent", ...joinArgs, "--data-dir", dataDir, "--node-name", NODE, "--kubelet-port", "0", ...flags], {
    cwd: ROOT,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
    env: testEnv({ BRAMBLE_LOG_LEVEL: "info" }),
  });
  for (const s of [proc.stdout, proc.stderr]) {
    void (async () => {
      const d = new TextDecoder();
      for await (const chunk of s) log += d.decode(chunk, { stream: true });
    })().catch(() => {});
  }
  agent = { proc, log: () => log };
  return agent;
}

async function stopAgent() {
  if (!agent) return;
  const { proc } = agent;
  agent = undefined;
  proc.kill("SIGTERM");
  const killer = setTimeout(() => proc.kill("SIGKILL"), 15_000);
  await proc.exited;
  clearTimeout(killer);
}

const kubectl = async (...args: string[]) => {
  const r = await server.kubectl(...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const kubectlIn = async (stdin: string, ...args: string[]) => {
  const r = await server.kubectlWith({ stdin }, ...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const getJson = async (...args: string[]) => parseJson({ code: 0, stdout: await kubectl(...args, "-o", "json"), stderr: "" });
const condition = (node: any, type: string) => node.status?.conditions?.find((c: any) => c.type === type);
const context = () => `--- agent (exit: ${agent?.proc.exitCode ?? agent?.proc.signalCode ?? "running"}) ---\n${agent?.log().slice(-8000) ?? ""}\n--- server ---\n${server.log.slice(-4000)}`;
const wait = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 90_000) => eventually(what, f, { timeoutMs, intervalMs: 500, context });

/** A pod on our node (bound directly: a node under pressure is tainted against scheduling). */
function podManifest(name: string, script: string, volume?: { medium?: string }, bind = true) {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: {
      ...(bind ? { nodeName: NODE } : {}),
      terminationGracePeriodSeconds: 1,
      restartPolicy: "Never",
      containers: [{ name: "main", image: TEST_IMAGE, imagePullPolicy: "Never", command: ["sh", "-c", `trap 'exit 0' TERM; ${script}`], ...(volume ? { volumeMounts: [{ name: "scratch", mountPath: "/scratch" }] } : {}) }],
      ...(volume ? { volumes: [{ name: "scratch", emptyDir: volume.medium ? { medium: volume.medium } : {} }] } : {}),
    },
  });
}

async function deletePods() {
  await server.kubectl("delete", "pods", "--all", "--wait=false", "--grace-period=0", "--force");
  await wait("our pods gone", async () => (await getJson("get", "pods")).items.length === 0 && (await docker!.listContainers({ [NODE_LABEL]: NODE })).length === 0);
}

describe.skipIf(!docker)("node pressure on a real agent", () => {
  beforeAll(async () => {
    await ensureTestImage(docker!);
    work = mkdtempSync(join(tmpdir(), "bramble-pressure-"));
    dataDir = join(work, "node");
    Bun.spawnSync(["mkdir", "-p", dataDir]);
    const mounted = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${DISK_MB}m`, "tmpfs", dataDir]);
    if (mounted.exitCode !== 0) throw new Error(`cannot mount a tmpfs: ${mounted.stderr.toString()}`);
    server = await startTestServer();
    const created = Bun.spawnSync(["bun", MAIN, "token", "create", "--print-join-command", "--kubeconfig", server.kubeconfig], { cwd: ROOT, env: testEnv() });
    const command = created.stdout.toString().trim().split(/\s+/);
    if (created.exitCode !== 0 || command[0] !== "bramble") throw new Error(`token create failed: ${created.stderr.toString()}`);
    joinArgs = command.slice(2);
  }, 60_000);

  afterAll(async () => {
    await server?.kubectl("delete", "pods", "--all", "--wait=false", "--grace-period=0", "--force").catch(() => {});
    await stopAgent();
    for (const c of (await docker?.listContainers({ [NODE_LABEL]: NODE })) ?? []) await docker!.removeContainer(c.id);
    await server?.cleanup();
    if (dataDir) Bun.spawnSync(["umount", "-R", "-l", dataDir]);
    if (work) rmSync(work, { recursive: true, force: true });
  }, 60_000);

  test("a full data dir: DiskPressure and its taint, the pod writing the disk is evicted (not its neighbour), and the node recovers", async () => {
    startAgent("--eviction-hard", "nodefs.available<25%", "--eviction-pressure-transition-period", "20s");
    await wait("the node Ready without pressure", async () => {
      const node = (await getJson("get", "nodes")).items.find((n: any) => n.metadata.name === NODE);
      return node && condition(node, "Ready")?.status === "True" && condition(node, "DiskPressure")?.status === "False";
    });
    // The bystander writes 5 MiB into its own writable layer (Docker's data root, not the data dir).
    await kubectlIn(podManifest("bystander", "dd if=/dev/zero of=/tmp/layer bs=1M count=5; sleep 3600 & wait"), "apply", "-f", "-");
    const bystanderUid = (await wait("bystander running", async () => {
      const p = await getJson("get", "pod", "bystander");
      return p.status?.phase === "Running" && p;
    })).metadata.uid;
    // What the eviction manager would rank it by on the image filesystem.
    const layers = await wait("the bystander's writable layer measured", async () => {
      const m = await writableLayersByPod(docker!.socketPath, LABELS.podUid);
      return (m.get(bystanderUid) ?? 0) >= 5 * Mi && m;
    });
    expect(layers.get(bystanderUid)).toBeLessThan(64 * Mi);
    // 52 MiB of a 64 MiB filesystem: under the 25% (16 MiB) left that the threshold asks for.
    await kubectlIn(podManifest("writer", "dd if=/dev/zero of=/scratch/fill bs=1M count=52; sleep 3600 & wait", {}), "apply", "-f", "-");

    const node = await wait("DiskPressure True", async () => {
      const n = await getJson("get", "node", NODE);
      return condition(n, "DiskPressure")?.status === "True" && n;
    });
    expect(condition(node, "DiskPressure")).toMatchObject({ reason: "KubeletHasDiskPressure", message: "kubelet has disk pressure" });
    expect(condition(node, "MemoryPressure")).toMatchObject({ status: "False", reason: "KubeletHasSufficientMemory" });
    // The node lifecycle controller taints the node; the scheduler keeps a new pod off it.
    await wait("the disk-pressure taint", async () => ((await getJson("get", "node", NODE)).spec.taints ?? []).some((t: any) => t.key === "node.kubernetes.io/disk-pressure" && t.effect === "NoSchedule"));
    await kubectlIn(podManifest("scheduled", "sleep 3600 & wait", undefined, false), "apply", "-f", "-");
    const unscheduled = await wait("scheduled pod Unschedulable", async () => {
      const p = await getJson("get", "pod", "scheduled");
      return p.status?.conditions?.find((c: any) => c.type === "PodScheduled" && c.status === "False") ?? false;
    });
    expect(unscheduled.message).toContain("untolerated taint {node.kubernetes.io/disk-pressure: }");
    // While the condition holds (the transition period), a new pod is refused by the node itself.
    await kubectlIn(podManifest("latecomer", "sleep 3600 & wait"), "apply", "-f", "-");
    const latecomer = await wait("latecomer rejected", async () => {
      const p = await getJson("get", "pod", "latecomer");
      return p.status?.phase === "Failed" && p;
    });
    expect(latecomer.status).toMatchObject({ reason: "Evicted", message: "Pod was rejected: The node had condition: [DiskPressure]. " });

    const writer = await wait("writer evicted", async () => {
      const p = await getJson("get", "pod", "writer");
      return p.status?.phase === "Failed" && p;
    });
    expect(writer.status.reason).toBe("Evicted");
    expect(writer.status.message).toMatch(/^The node was low on resource: ephemeral-storage\. Threshold quantity: \d+(Ki|Mi)?, available: \d+(Ki|Mi)?\. $/);
    expect(writer.status.conditions.find((c: any) => c.type === "DisruptionTarget")).toMatchObject({ status: "True", reason: "TerminationByKubelet" });
    const events = await getJson("get", "events", "--field-selector", "involvedObject.name=writer,reason=Evicted");
    expect(events.items[0]?.message).toBe(writer.status.message);

    // The taint came and goes with the condition; space came back when the pod's volume went.
    const recovered = await wait("DiskPressure False again and the taint gone", async () => {
      const n = await getJson("get", "node", NODE);
      return condition(n, "DiskPressure")?.status === "False" && !(n.spec.taints ?? []).some((t: any) => t.key === "node.kubernetes.io/disk-pressure") && n;
    });
    expect(condition(recovered, "DiskPressure").reason).toBe("KubeletHasNoDiskPressure");
    expect(agent!.log()).toContain("node pressure changed");
    const bystander = await getJson("get", "pod", "bystander");
    expect(bystander.status.phase).toBe("Running");
    // Without the taint, the waiting pod is placed and runs.
    await wait("the scheduled pod running on the node", async () => {
      const p = await getJson("get", "pod", "scheduled");
      return p.spec.nodeName === NODE && p.status?.phase === "Running";
    });
    // The evicted pod's volume is gone from the node's disk.
    const { statfsSync } = await import("node:fs");
    const fs = statfsSync(dataDir);
    expect(Number(fs.bavail) * Number(fs.bsize)).toBeGreaterThan(DISK_MB * Mi * 0.5);
    await deletePods();
    await stopAgent();
  }, 180_000);

  test("a memory-hungry pod on a node with a low memory.available threshold is evicted before the OOM killer acts", async () => {
    // The threshold sits 500 MiB under the machine's memory.available now (as the agent computes
    // it: capacity − working set); the pod takes 1000 MiB.
    const available = observeMemory(hostReader)!.available;
    const thresholdMi = Math.floor(available / Mi) - 500;
    startAgent("--eviction-hard", `memory.available<${thresholdMi}Mi`, "--eviction-pressure-transition-period", "5s");
    await wait("the node Ready", async () => {
      const n = (await getJson("get", "nodes")).items.find((x: any) => x.metadata.name === NODE);
      return n && condition(n, "Ready")?.status === "True";
    });
    await kubectlIn(podManifest("hog", "dd if=/dev/zero of=/scratch/fill bs=1M count=1000; sleep 3600 & wait", { medium: "Memory" }), "apply", "-f", "-");
    const hog = await wait("hog evicted", async () => {
      const p = await getJson("get", "pod", "hog");
      return p.status?.phase === "Failed" && p;
    });
    expect(hog.status.reason).toBe("Evicted");
    expect(hog.status.message).toMatch(/^The node was low on resource: memory\. Threshold quantity: \d+Mi, available: \d+(Ki|Mi)?\. Container main was using \d+(Ki|Mi|Gi)?, request is 0, has larger consumption of memory\. $/);
    const event = (await getJson("get", "events", "--field-selector", "involvedObject.name=hog,reason=Evicted")).items[0];
    expect(event.message).toBe(hog.status.message);
    expect(event.metadata.annotations).toMatchObject({ offending_containers: "main", starved_resource: "memory" });
    // Stopped by the kubelet, not by the kernel.
    expect(hog.status.containerStatuses[0].state.terminated?.reason).not.toBe("OOMKilled");
    const node = await getJson("get", "node", NODE);
    // Pressure was reported (it may already be over: the eviction freed the memory).
    expect(agent!.log()).toMatch(/node pressure changed.*MemoryPressure/);
    expect(condition(node, "MemoryPressure").reason).toMatch(/^KubeletHas(Insufficient|Sufficient)Memory$/);
    await wait("MemoryPressure False again", async () => condition(await getJson("get", "node", NODE), "MemoryPressure")?.status === "False");
    await deletePods();
    await stopAgent();
  }, 180_000);
});
