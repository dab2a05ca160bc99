// Agent memory with networking on (the agent's target, measured where the pod network,
// Service proxy and cluster DNS run): in the multi-node lab, 30 pods on the agent node lab-n1 and
// 20 Services selecting them; RSS of that agent process and of the server with its embedded agent
// (lab-n0), idle and after a settle. Same-run baseline: a bare `bun -e 'setInterval(...)'`.
// agent/memory.ts measures the same without networking on the shared host.
//   bun scripts/bench/lab-agent-memory.ts [--pods 30 --services 20 --settle-s 15]   (root; brings up and removes the lab)
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { TEST_IMAGE } from "../../src/agent/images/testimage.ts";
import { upLab, type Lab } from "../lab/lab.ts";
import { mb, memoryOf, sourceVersion } from "./lib/proc.ts";
import { printTable } from "./lib/table.ts";

const { values: args } = parseArgs({ options: { pods: { type: "string", default: "30" }, services: { type: "string", default: "20" }, "settle-s": { type: "string", default: "15" } } });
const PODS = Number(args.pods);
const SERVICES = Number(args.services);
const AGENT_TARGET_MB = 60;
const SERVER_TARGET_MB = 130;

async function bareBunRss(): Promise<number> {
  const p = Bun.spawn(["bun", "-e", "setInterval(() => {}, 1000)"], { stdout: "ignore", stderr: "ignore" });
  await Bun.sleep(2000);
  const rss = memoryOf(p.pid).rss;
  p.kill();
  return rss;
}

/** Max RSS over a 10 s window, sampled every second. */
async function windowMax(pid: number): Promise<number> {
  let max = 0;
  for (let i = 0; i < 10; i++, await Bun.sleep(1000)) max = Math.max(max, memoryOf(pid).rss);
  return max;
}

async function main(lab: Lab) {
  const pidOf = (node: string) => Number(readFileSync(lab.node(node).paths.bramblePid, "utf8").trim());
  const agent = pidOf("lab-n1");
  const server = pidOf("lab-n0");
  await Bun.sleep(5000);
  const idle = [memoryOf(agent).rss, memoryOf(server).rss];

  const items: unknown[] = [];
  for (let i = 0; i < PODS; i++) {
    items.push({ apiVersion: "v1", kind: "Pod", metadata: { name: `mem-${i}`, labels: { app: `mem-${i % SERVICES}` } }, spec: { nodeName: "lab-n1", containers: [{ name: "c", image: TEST_IMAGE, imagePullPolicy: "Never", command: ["sleep", "3600"] }] } });
  }
  for (let i = 0; i < SERVICES; i++) items.push({ apiVersion: "v1", kind: "Service", metadata: { name: `mem-${i}` }, spec: { selector: { app: `mem-${i}` }, ports: [{ port: 80 }] } });
  const applied = await lab.kubectlWith({ stdin: JSON.stringify({ apiVersion: "v1", kind: "List", items }) }, "apply", "-f", "-");
  if (applied.code !== 0) throw new Error(`kubectl apply: ${applied.stderr}`);
  const running = async () => (await lab.kubectl("get", "pods", "--no-headers")).stdout.split("\n").filter((l) => /\sRunning\s/.test(l)).length;
  const deadline = Date.now() + 180_000;
  while ((await running()) < PODS) {
    if (Date.now() > deadline) throw new Error(`only ${await running()} of ${PODS} pods Running after 180 s`);
    await Bun.sleep(1000);
  }
  await Bun.sleep(Number(args["settle-s"]) * 1000);
  const loaded = [await windowMax(agent), await windowMax(server)];
  const peak = [memoryOf(agent).hwm, memoryOf(server).hwm];
  const bare = await bareBunRss();

  console.log(`\nbramble ${sourceVersion()}: lab, pod network + Service proxy + cluster DNS on; ${PODS} pods on lab-n1, ${SERVICES} Services`);
  const ratio = (b: number) => (b / bare).toFixed(2);
  printTable(
    ["RSS, MB", "bare bun", "idle, no pods", `${PODS} pods (max over 10 s)`, "× bare bun", "peak (VmHWM)", "target", "verdict"],
    [
      ["agent (lab-n1)", mb(bare), mb(idle[0]!), mb(loaded[0]!), ratio(loaded[0]!), mb(peak[0]!), `≤ ${AGENT_TARGET_MB}`, loaded[0]! <= AGENT_TARGET_MB * 2 ** 20 ? "MET" : "MISSED"],
      ["server + embedded agent (lab-n0)", mb(bare), mb(idle[1]!), mb(loaded[1]!), ratio(loaded[1]!), mb(peak[1]!), `≤ ${SERVER_TARGET_MB}`, loaded[1]! <= SERVER_TARGET_MB * 2 ** 20 ? "MET" : "MISSED"],
    ],
  );
}

const lab = await upLab({ progress: () => {} });
try {
  await main(lab);
} finally {
  await lab.down();
}
