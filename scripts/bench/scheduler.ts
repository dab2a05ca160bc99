// Scheduler core: placements per second of the real pipeline (PodInfo build, every filter and
// score, assume into the cache) on 1,000 in-memory nodes and 10,000 pods with mixed requests,
// in process with no API, against a same-run baseline: a naive first-fit loop over plain
// numbers (cpu, memory, pod count only). Also packing quality: nodes used vs the lower bound
// max(ceil(total cpu / node cpu), ceil(total memory / node memory)).
//   bun scripts/bench/scheduler.ts [--nodes 1000] [--pods 10000] [--seed 42]
import { parseArgs } from "node:util";
import type { Pod } from "../../src/api/resources/core/pod.ts";
import { Harness, makeNode, makePod } from "../../src/server/scheduler/harness.ts";
import { cpuModel } from "./lib/proc.ts";
import { met, printTable } from "./lib/table.ts";

const { values: args } = parseArgs({
  options: { nodes: { type: "string", default: "1000" }, pods: { type: "string", default: "10000" }, seed: { type: "string", default: "42" } },
});
const NODES = Number(args.nodes);
const PODS = Number(args.pods);
const NODE_CPU = 4000; // millicores: a Raspberry Pi 4/5
const NODE_MEMORY = 8 * 1024; // MiB

// A mixed workload where both cpu and memory bind (lower bounds ~844 and ~797 nodes at 10,000
// pods), with cpu-heavy and memory-heavy shapes so packing is genuinely two-dimensional.
const SHAPES: { share: number; cpu: number; memoryMi: number }[] = [
  { share: 0.3, cpu: 100, memoryMi: 128 },
  { share: 0.25, cpu: 250, memoryMi: 512 },
  { share: 0.15, cpu: 500, memoryMi: 1024 },
  { share: 0.1, cpu: 1000, memoryMi: 256 },
  { share: 0.1, cpu: 100, memoryMi: 2048 },
  { share: 0.05, cpu: 1000, memoryMi: 1536 },
  { share: 0.05, cpu: 200, memoryMi: 512 },
];

/** mulberry32: a small seeded PRNG, so every run places the same workload. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Shape {
  cpu: number;
  memoryMi: number;
}

function workload(n: number, seed: number): Shape[] {
  const random = rng(seed);
  return Array.from({ length: n }, () => {
    let r = random();
    for (const s of SHAPES) if ((r -= s.share) < 0) return s;
    return SHAPES[SHAPES.length - 1];
  });
}

const nodeName = (i: number) => `sim-${String(i).padStart(4, "0")}`;
const toPods = (shapes: Shape[]): Pod[] => shapes.map((s, i) => makePod(`pod-${i}`, { cpu: `${s.cpu}m`, memory: `${s.memoryMi}Mi` }));

interface Run {
  name: string;
  placed: number;
  failed: number;
  nodesUsed: number;
  ms: number;
}

function runPipeline(policy: "binpack" | "spread", pods: Pod[]): Run {
  const h = new Harness(policy).addNodes(...Array.from({ length: NODES }, (_, i) => makeNode(nodeName(i), { cpu: `${NODE_CPU}m`, memory: `${NODE_MEMORY}Mi`, pods: "110" })));
  const start = performance.now();
  const r = h.schedule(pods);
  const ms = performance.now() - start;
  return { name: `pipeline (${policy})`, placed: r.placements.size, failed: r.failures.size, nodesUsed: Harness.nodesUsed(r), ms };
}

/** The baseline: first node with room, plain arrays, no objects, no reasons, no scores. */
function runFirstFit(shapes: Shape[]): Run {
  const cpu = new Float64Array(NODES).fill(NODE_CPU);
  const memory = new Float64Array(NODES).fill(NODE_MEMORY);
  const count = new Int32Array(NODES).fill(110);
  const used = new Uint8Array(NODES);
  let placed = 0;
  const start = performance.now();
  for (const s of shapes) {
    for (let i = 0; i < NODES; i++) {
      if (cpu[i] >= s.cpu && memory[i] >= s.memoryMi && count[i] > 0) {
        cpu[i] -= s.cpu;
        memory[i] -= s.memoryMi;
        count[i]--;
        used[i] = 1;
        placed++;
        break;
      }
    }
  }
  const ms = performance.now() - start;
  return { name: "baseline: naive first-fit", placed, failed: shapes.length - placed, nodesUsed: used.reduce((a, b) => a + b, 0), ms };
}

const shapes = workload(PODS, Number(args.seed));
const totalCpu = shapes.reduce((a, s) => a + s.cpu, 0);
const totalMemory = shapes.reduce((a, s) => a + s.memoryMi, 0);
const lowerBound = Math.max(Math.ceil(totalCpu / NODE_CPU), Math.ceil(totalMemory / NODE_MEMORY));

// Warm up the JIT on a small run of each, so the measured runs compare steady-state code.
runPipeline("binpack", toPods(workload(1000, 7)));
runFirstFit(workload(1000, 7));

const baseline = runFirstFit(shapes);
const runs = [runPipeline("binpack", toPods(shapes)), runPipeline("spread", toPods(shapes))];
const rate = (r: Run) => (r.placed + r.failed) / (r.ms / 1000);

console.log(`scheduler core: ${NODES} nodes (${NODE_CPU}m, ${NODE_MEMORY}Mi, 110 pods), ${PODS} pods, seed ${args.seed}; ${cpuModel()}`);
console.log(`lower bound: ${lowerBound} nodes (cpu ${Math.ceil(totalCpu / NODE_CPU)}, memory ${Math.ceil(totalMemory / NODE_MEMORY)})\n`);
printTable(
  ["run", "placed", "unplaced", "ms", "pods/s", "× baseline", "nodes used", "× lower bound"],
  [baseline, ...runs].map((r) => [
    r.name,
    r.placed,
    r.failed,
    r.ms.toFixed(0),
    Math.round(rate(r)),
    (rate(r) / rate(baseline)).toFixed(3),
    r.nodesUsed,
    (r.nodesUsed / lowerBound).toFixed(3),
  ]),
);
const binpack = runs[0];
console.log(`\ntarget ≥ 5,000 pods/s (bin-packing): ${Math.round(rate(binpack))} — ${met(rate(binpack) >= 5000)}`);
console.log(`target ≤ 1.05× lower bound (bin-packing): ${(binpack.nodesUsed / lowerBound).toFixed(3)}× — ${met(binpack.nodesUsed / lowerBound <= 1.05 && binpack.failed === 0)}`);
