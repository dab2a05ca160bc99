// The lab's teardown against what a crashed or interrupted run leaves: `downLab` removes
// processes (also a container whose engine was killed under it), namespaces, veths, the bridge,
// the host FORWARD rule and the folder, and may run any number of times; `upLab` first clears
// a previous run's leftovers.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { TEST_IMAGE } from "../src/agent/images/testimage";
import { BRIDGE, FORWARD_COMMENT, NODE_SPECS, netnsPath } from "../scripts/lab/config";
import { startEngine, waitForEngine } from "../scripts/lab/engines";
import { Lab, acquireLabLock, downLab, releaseLabLock, upLab } from "../scripts/lab/lab";
import { createNetwork } from "../scripts/lab/network";
import { alive, processTable, readPid, spawnDetached } from "../scripts/lab/processes";
import { run } from "../scripts/lab/sh";
import { labSkipReason } from "./helpers/lab";

/** Everything of the lab that can outlive it, as the kernel and the file system show it. */
async function leftovers(root: string): Promise<string[]> {
  const found: string[] = [];
  for (const n of NODE_SPECS) {
    if (existsSync(netnsPath(n.ns))) found.push(`netns ${n.ns}`);
    if ((await run(["ip", "link", "show", n.hostVeth])).code === 0) found.push(`veth ${n.hostVeth}`);
  }
  if ((await run(["ip", "link", "show", BRIDGE])).code === 0) found.push(`bridge ${BRIDGE}`);
  if ((await run(["iptables", "-w", "-S", "FORWARD"])).stdout.includes(FORWARD_COMMENT)) found.push("FORWARD rule");
  if (existsSync(root)) found.push(`folder ${root}`);
  const mounts = readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l.split(" ")[4]?.startsWith(`${root}/`));
  if (mounts.length) found.push(`${mounts.length} mounts under ${root}`);
  for (const p of processTable()) if (p.cmdline.includes(`${root}/`) && p.pid !== process.pid) found.push(`process ${p.pid}: ${p.cmdline}`);
  return found;
}

describe.skipIf(!!labSkipReason)("lab teardown", () => {
  beforeAll(() => acquireLabLock(15 * 60_000, console.log), 16 * 60_000);
  afterAll(async () => {
    await downLab(undefined, { keepLock: true }).catch((e) => console.error(e));
    releaseLabLock();
  }, 120_000);

  test("down after a partial up whose engine was killed removes everything, the orphaned container included", async () => {
    const lab = new Lab();
    await downLab(lab.root, { keepLock: true });
    for (const n of lab.nodes) mkdirSync(n.paths.dir, { recursive: true });
    await createNetwork(lab.nodes);
    const n1 = lab.node("lab-n1");
    startEngine(n1, n1.paths);
    await waitForEngine(n1, n1.paths);
    const started = await lab.docker("lab-n1", "run", "-d", "--network", "none", TEST_IMAGE, "sleep", "100000");
    expect(started.code).toBe(0);
    const containerPid = Number((await lab.docker("lab-n1", "inspect", "-f", "{{.State.Pid}}", started.stdout.trim())).stdout.trim());
    expect(alive(containerPid)).toBe(true);
    // A stand-in for bramble on lab-n2 that has a child of its own.
    const n2 = lab.node("lab-n2");
    const standIn = spawnDetached(["sh", "-c", "sleep 100000 & wait", n2.paths.dir], { logFile: n2.paths.brambleLog, pidFile: n2.paths.bramblePid });
    let child: number | undefined;
    for (let i = 0; i < 50 && child === undefined; i++, await Bun.sleep(50)) child = processTable().find((p) => p.sid === standIn && p.pid !== standIn)?.pid;
    expect(child).toBeDefined();

    // The crash: the engine dies at once; its container lives on under its shim.
    const dockerd = readPid(n1.paths.enginePid)!;
    process.kill(dockerd, "SIGKILL");
    for (let i = 0; i < 100 && alive(dockerd); i++) await Bun.sleep(50);
    expect(alive(dockerd)).toBe(false);
    expect(alive(containerPid)).toBe(true);

    await downLab(lab.root, { keepLock: true });
    expect(await leftovers(lab.root)).toEqual([]);
    for (const pid of [containerPid, standIn, child!]) expect(alive(pid)).toBe(false);
  }, 120_000);

  test("down with nothing left is fine, twice", async () => {
    await downLab(undefined, { keepLock: true });
    await downLab(undefined, { keepLock: true });
    expect(await leftovers(new Lab().root)).toEqual([]);
  });

  test("up clears a previous run's leftovers and comes up", async () => {
    const root = new Lab().root;
    // Half of a lab: the bridge, one namespace, a stray file.
    expect((await run(["ip", "link", "add", BRIDGE, "type", "bridge"])).code).toBe(0);
    expect((await run(["ip", "netns", "add", NODE_SPECS[1]!.ns])).code).toBe(0);
    mkdirSync(root, { recursive: true });
    await Bun.write(join(root, "stray"), "from an earlier run");
    const lab = await upLab();
    expect(existsSync(join(root, "stray"))).toBe(false);
    const nodes = JSON.parse((await lab.kubectl("get", "nodes", "-o", "json")).stdout).items.map((n: any) => n.metadata.name).sort();
    expect(nodes).toEqual(["lab-n0", "lab-n1", "lab-n2"]);
    await downLab(root, { keepLock: true });
    expect(await leftovers(root)).toEqual([]);
  }, 180_000);
});
