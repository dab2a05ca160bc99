// What the Prometheus metrics cost on the hot paths, in-process (no network, one core):
//   (a) per API request: the label split + counter + histogram the API server adds to every request,
//   (b) per work-queue key: add, get and done on a named queue against an unnamed one,
//   (c) per store write: create through the instrumented store against the bare memory store,
//   (d) for scale: ConfigMap creates/s through the whole in-process API server (metrics on), and
//       what (a) is of one create.
//   bun scripts/bench/metrics-overhead.ts [--n 200000]
import { parseArgs } from "node:util";
import { WorkQueue } from "../../src/machinery/workqueue.ts";
import { recordRequest, requestLabels } from "../../src/server/apiserver/request-metrics.ts";
import { startTestApi } from "../../src/server/apiserver/testing.ts";
import { openStore } from "../../src/server/store/index.ts";
import { instrumentStore } from "../../src/server/store/metrics.ts";

const { values: args } = parseArgs({ options: { n: { type: "string", default: "200000" } } });
const N = Number(args.n);

const nsPerOp = (ms: number, n: number) => (ms * 1e6) / n;
const time = async (n: number, f: (i: number) => unknown) => {
  const t = performance.now();
  for (let i = 0; i < n; i++) await f(i);
  return performance.now() - t;
};
const timeSync = (n: number, f: () => void) => {
  const t = performance.now();
  for (let i = 0; i < n; i++) f();
  return performance.now() - t;
};
/** The machine is shared: the least disturbed of several runs. */
const REPEATS = 5;
const best = async (f: () => number | Promise<number>) => {
  let min = Infinity;
  for (let i = 0; i < REPEATS; i++) min = Math.min(min, await f());
  return min;
};

// (a) the exact work added per request
const served = new Set(["/v1/configmaps", "/v1/"]);
const isServed = (g: string, v: string, p: string) => served.has(`${g}/${v}/${p}`);
const perRequest = () => {
  const url = "https://127.0.0.1:6443/api/v1/namespaces/default/configmaps?limit=500";
  const q = url.indexOf("?");
  const pathStart = url.indexOf("/", url.indexOf("//") + 2);
  recordRequest(requestLabels("POST", url.slice(pathStart, q), url.slice(q), "application/json", isServed), 201, performance.now());
};
for (let i = 0; i < 10_000; i++) perRequest();
const requestNs = await best(() => nsPerOp(timeSync(N, perRequest), N));

// (b) work queue: add + get + done
const queueRun = async (name: string | undefined) => {
  const q = new WorkQueue(1, 10, { name });
  const keys = Array.from({ length: 1000 }, (_, i) => `ns/key-${i}`);
  return time(N, async (i) => {
    const k = keys[i % 1000]!;
    q.add(k);
    const got = await q.get();
    q.done(got!);
  });
};
await queueRun(undefined);
const queuePlain = await best(async () => nsPerOp(await queueRun(undefined), N));
const queueNamed = await best(async () => nsPerOp(await queueRun("bench"), N));

// (c) store creates
const storeRun = async (instrumented: boolean) => {
  const bare = await openStore("memory:");
  const s = instrumented ? instrumentStore(bare) : bare;
  const n = Math.min(N, 50_000);
  const ms = await time(n, (i) => s.create(`/registry/configmaps/default/c${i}`, "{}"));
  await bare.close();
  return nsPerOp(ms, n);
};
await storeRun(false);
const storePlain = await best(() => storeRun(false));
const storeTimed = await best(() => storeRun(true));

// (d) whole creates through the API server
const t = await startTestApi();
const creates = Math.min(N / 20, 5_000);
const body = (i: number) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: `c${i}` }, data: { k: "v" } });
await time(200, (i) => t.call("POST", "/api/v1/namespaces/default/configmaps", body(1e6 + i)));
let round = 0;
const createMs = await best(() => {
  const base = ++round * creates;
  return time(creates, (i) => t.call("POST", "/api/v1/namespaces/default/configmaps", body(base + i)));
});
await t.stop();
const createNs = nsPerOp(createMs, creates);

const row = (what: string, v: string) => console.log(`${what.padEnd(58)} ${v}`);
row("(a) metrics per API request (labels + counter + histogram)", `${requestNs.toFixed(0)} ns`);
row("(b) work queue add+get+done, unnamed / named", `${queuePlain.toFixed(0)} ns / ${queueNamed.toFixed(0)} ns (+${(queueNamed - queuePlain).toFixed(0)} ns)`);
row("(c) memory-store create, bare / instrumented", `${storePlain.toFixed(0)} ns / ${storeTimed.toFixed(0)} ns (+${(storeTimed - storePlain).toFixed(0)} ns)`);
row("(d) in-process API ConfigMap create (metrics on)", `${(1e9 / createNs).toFixed(0)} creates/s (${(createNs / 1000).toFixed(0)} µs each)`);
row("    (a)+(c) as a share of one create", `${(((requestNs + Math.max(0, storeTimed - storePlain)) / createNs) * 100).toFixed(2)} %`);
