// Prometheus metrics from a `bramble server` process, read with the real kubectl: the API
// server's /metrics answers the admin, refuses a service account until a ClusterRoleBinding
// grants a role with nonResourceURLs ["/metrics"], and parses as the text exposition format
// (checked by the strict parser below) with upstream's series; the request counter moves with
// a kubectl get. The embedded agent's /metrics is read through the nodes/proxy subresource
// (needs dockerd: the embedded agent runs on it; locally that part skips without it).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { dockerForTests } from "../src/agent/runtime/docker/testing";
import { eventually } from "./helpers/eventually";
import { removePodsOf, shContainer, startServerWithNode } from "./helpers/pods";
import { parseJson, startTestServer, type TestServer } from "./helpers/server";

setDefaultTimeout(60_000);
const docker = await dockerForTests("agent metrics through nodes/proxy");
const NS = `prom-${Date.now().toString(36)}`;

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  type: string;
  help?: string;
  samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The value syntax of the text format: a Go float, +Inf, -Inf or NaN. */
function parseValue(s: string, line: string): number {
  if (s === "+Inf") return Infinity;
  if (s === "-Inf") return -Infinity;
  if (s === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s)) throw new Error(`bad value ${JSON.stringify(s)} in: ${line}`);
  return Number(s);
}

/** Labels `{a="x",b="y\"z"}` from `at` (just past the brace); returns them and where they end. */
function parseLabels(line: string, at: number): [Record<string, string>, number] {
  const labels: Record<string, string> = {};
  let i = at;
  for (;;) {
    if (line[i] === "}") return [labels, i + 1];
    const eq = line.indexOf("=", i);
    if (eq < 0) throw new Error(`label without = in: ${line}`);
    const name = line.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`bad label name ${JSON.stringify(name)} in: ${line}`);
    if (name in labels) throw new Error(`label ${name} twice in: ${line}`);
    if (line[eq + 1] !== '"') throw new Error(`unquoted label value in: ${line}`);
    let value = "";
    let j = eq + 2;
    for (;; j++) {
      const c = line[j];
      if (c === undefined) throw new Error(`unterminated label value in: ${line}`);
      if (c === '"') break;
      if (c === "\\") {
        const e = line[++j];
        if (e === "\\") value += "\\";
        else if (e === '"') value += '"';
        else if (e === "n") value += "\n";
        else throw new Error(`bad escape \\${e} in: ${line}`);
      } else value += c;
    }
    labels[name] = value;
    i = j + 1;
    if (line[i] === ",") i++;
    else if (line[i] !== "}") throw new Error(`expected , or } in: ${line}`);
  }
}

/** A strict reader of the text exposition format 0.0.4 (as Prometheus's own parser checks it). */
function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seenSeries = new Set<string>();
  if (!text.endsWith("\n")) throw new Error("the exposition must end with a newline");
  for (const line of text.slice(0, -1).split("\n")) {
    if (line === "") throw new Error("empty line");
    if (line.startsWith("#")) {
      const m = line.match(/^# (HELP|TYPE) (\S+) (.*)$/);
      if (!m) throw new Error(`bad comment line: ${line}`);
      const [, what, name, rest] = m as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      const f = families.get(name);
      if (what === "TYPE") {
        if (f?.type) throw new Error(`second TYPE for ${name}`);
        if (!["counter", "gauge", "histogram", "summary", "untyped"].includes(rest)) throw new Error(`bad type in: ${line}`);
        if (f?.samples.length) throw new Error(`TYPE after samples of ${name}`);
        families.set(name, { ...f, type: rest, samples: f?.samples ?? [] });
      } else {
        if (f?.help !== undefined) throw new Error(`second HELP for ${name}`);
        families.set(name, { type: f?.type ?? "", help: rest, samples: f?.samples ?? [] });
      }
      continue;
    }
    const brace = line.indexOf("{");
    const space = line.indexOf(" ");
    const nameEnd = brace >= 0 && brace < space ? brace : space;
    const name = line.slice(0, nameEnd);
    if (!NAME.test(name)) throw new Error(`bad sample name in: ${line}`);
    let labels: Record<string, string> = {};
    let at = nameEnd;
    if (line[at] === "{") [labels, at] = parseLabels(line, at + 1);
    if (line[at] !== " ") throw new Error(`expected a space before the value in: ${line}`);
    const [valueText, timestamp, extra] = line.slice(at + 1).split(" ");
    if (extra !== undefined || (timestamp !== undefined && !/^-?\d+$/.test(timestamp))) throw new Error(`bad trailer in: ${line}`);
    const value = parseValue(valueText ?? "", line);
    const family = families.get(name) ?? families.get(name.replace(/_(bucket|sum|count)$/, ""));
    if (!family?.type) throw new Error(`sample before its TYPE: ${line}`);
    if (family.type !== "histogram" && family.type !== "summary" && !families.has(name)) throw new Error(`suffixed sample of a ${family.type}: ${line}`);
    if (family.type === "counter" && !(value >= 0)) throw new Error(`negative counter: ${line}`);
    const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSeries.has(series)) throw new Error(`series twice: ${line}`);
    seenSeries.add(series);
    family.samples.push({ name, labels, value });
  }
  for (const [name, f] of families) if (f.type === "histogram") checkHistogram(name, f);
  return families;
}

/** Buckets cumulative by ascending le, ending at +Inf equal to _count, with a _sum. */
function checkHistogram(name: string, f: Family) {
  const key = (l: Record<string, string>) => JSON.stringify(Object.entries(l).filter(([k]) => k !== "le").sort());
  const groups = new Map<string, Sample[]>();
  for (const s of f.samples) {
    if (s.name === `${name}_bucket` && s.labels.le === undefined) throw new Error(`${name}: bucket without le`);
    const k = key(s.labels);
    groups.set(k, [...(groups.get(k) ?? []), s]);
  }
  for (const [k, samples] of groups) {
    const buckets = samples.filter((s) => s.name === `${name}_bucket`);
    const count = samples.find((s) => s.name === `${name}_count`);
    const sum = samples.find((s) => s.name === `${name}_sum`);
    if (!count || !sum || !buckets.length) throw new Error(`${name}${k}: missing _bucket, _sum or _count`);
    const les = buckets.map((b) => parseValue(b.labels.le!, name));
    for (let i = 1; i < buckets.length; i++) {
      if (!(les[i]! > les[i - 1]!)) throw new Error(`${name}${k}: le not ascending`);
      if (buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`${name}${k}: buckets not cumulative`);
    }
    if (buckets.at(-1)!.labels.le !== "+Inf") throw new Error(`${name}${k}: no le="+Inf" bucket`);
    if (buckets.at(-1)!.value !== count.value) throw new Error(`${name}${k}: +Inf bucket differs from _count`);
  }
}

const value = (f: Map<string, Family>, name: string, labels: Record<string, string>) =>
  f
    .get(name.replace(/_(bucket|sum|count)$/, ""))
    ?.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((a, s) => a + s.value, 0) ?? 0;

describe("Prometheus /metrics", () => {
  let s: TestServer;
  let token: string;
  const ok = async (...args: string[]) => {
    const r = await s.kubectl(...args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const scrape = async () => parseExposition(await ok("get", "--raw", "/metrics"));

  beforeAll(async () => {
    s = docker ? await startServerWithNode(docker) : await startTestServer();
    await ok("create", "namespace", NS);
    await ok("-n", NS, "create", "serviceaccount", "scraper");
    token = (await ok("-n", NS, "create", "token", "scraper")).trim();
  }, 90_000);
  afterAll(async () => {
    await s?.cleanup();
    if (docker) await removePodsOf(docker, NS);
  });

  test("the admin reads the server's metrics: upstream's series in the text format", async () => {
    const res = await s.fetch("/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/plain; version=0.0.4; charset=utf-8");
    const f = parseExposition(await res.text());
    const types = Object.fromEntries([...f].map(([n, x]) => [n, x.type]));
    expect(types).toMatchObject({
      apiserver_request_total: "counter",
      apiserver_request_duration_seconds: "histogram",
      apiserver_longrunning_requests: "gauge",
      bramble_store_requests_total: "counter",
      bramble_store_request_duration_seconds: "histogram",
      workqueue_depth: "gauge",
      workqueue_adds_total: "counter",
      workqueue_queue_duration_seconds: "histogram",
      workqueue_work_duration_seconds: "histogram",
      scheduler_schedule_attempts_total: "counter",
      scheduler_scheduling_attempt_duration_seconds: "histogram",
      process_resident_memory_bytes: "gauge",
      process_cpu_seconds_total: "counter",
      process_start_time_seconds: "gauge",
    });
    expect(value(f, "process_resident_memory_bytes", {})).toBeGreaterThan(1e6);
    // The controllers' informers hold watches open, and their queues are named after them.
    expect(value(f, "apiserver_longrunning_requests", { verb: "WATCH", resource: "pods" })).toBeGreaterThan(0);
    expect(f.get("workqueue_depth")!.samples.map((x) => x.labels.name)).toEqual(expect.arrayContaining(["scheduler", "garbage-collector"]));
    expect(value(f, "bramble_store_requests_total", { operation: "create", result: "ok" })).toBeGreaterThan(0);
    const buckets = f.get("apiserver_request_duration_seconds")!.samples.filter((x) => x.name.endsWith("_bucket")).map((x) => x.labels.le);
    expect(buckets.slice(0, 5)).toEqual(["0.005", "0.025", "0.05", "0.1", "0.2"]);
  });

  test("the request counter moves with a kubectl get", async () => {
    const series = { verb: "LIST", group: "", version: "v1", resource: "configmaps", scope: "namespace", component: "apiserver", code: "200" };
    const before = value(await scrape(), "apiserver_request_total", series);
    await ok("-n", NS, "get", "configmaps");
    await ok("-n", NS, "get", "configmaps");
    const after = await scrape();
    expect(value(after, "apiserver_request_total", series)).toBe(before + 2);
    expect(value(after, "apiserver_request_duration_seconds_count", { verb: "LIST", resource: "configmaps", scope: "namespace" })).toBeGreaterThanOrEqual(2);
  });

  test("a service account is refused until RBAC grants nonResourceURLs /metrics", async () => {
    const denied = await s.kubectl("--token", token, "get", "--raw", "/metrics");
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(`Error from server (Forbidden): forbidden: User "system:serviceaccount:${NS}:scraper" cannot get path "/metrics"`);
    await ok("create", "clusterrole", `${NS}-metrics`, "--verb=get", "--non-resource-url=/metrics");
    await ok("create", "clusterrolebinding", `${NS}-metrics`, `--clusterrole=${NS}-metrics`, `--serviceaccount=${NS}:scraper`);
    const text = await eventually("the binding takes effect", async () => {
      const r = await s.kubectl("--token", token, "get", "--raw", "/metrics");
      return r.code === 0 && r.stdout;
    });
    expect(parseExposition(text).has("apiserver_request_total")).toBe(true);
    await ok("delete", "clusterrolebinding", `${NS}-metrics`);
    // The built-in system:monitoring role, bound to the group of that name, as upstream's.
    const monitoring = await s.kubectl("--as", "prometheus", "--as-group", "system:monitoring", "get", "--raw", "/metrics");
    expect(monitoring.stderr).toBe("");
    expect(parseExposition(monitoring.stdout).has("process_start_time_seconds")).toBe(true);
    const plain = await s.kubectl("--as", "prometheus", "get", "--raw", "/metrics");
    expect(plain.stderr).toContain('User "prometheus" cannot get path "/metrics"');
  });

  test.skipIf(!docker)("the agent's metrics through nodes/proxy: kubelet series and a pod start", async () => {
    const node = parseJson(await s.kubectl("get", "nodes", "-o", "json")).items[0].metadata.name;
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "one" }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: "main", ...shContainer("trap 'exit 0' TERM; sleep 100000 & wait") }] } };
    const r = await s.kubectlWith({ stdin: JSON.stringify(pod) }, "-n", NS, "create", "-f", "-");
    expect(r.stderr).toBe("");
    await eventually("the pod runs", async () => parseJson(await s.kubectl("-n", NS, "get", "pod", "one", "-o", "json")).status?.phase === "Running", { timeoutMs: 45_000, intervalMs: 250 });
    const f = await eventually("the agent reports the running pod", async () => {
      const f = parseExposition(await ok("get", "--raw", `/api/v1/nodes/${node}/proxy/metrics`));
      return value(f, "kubelet_running_pods", {}) >= 1 && value(f, "kubelet_running_containers", { container_state: "running" }) >= 1 && f;
    });
    expect(f.get("kubelet_running_pods")!.type).toBe("gauge");
    expect(value(f, "kubelet_pod_start_duration_seconds_count", {})).toBeGreaterThanOrEqual(1);
    expect(value(f, "process_resident_memory_bytes", {})).toBeGreaterThan(1e6);
    expect(f.get("bramble_image_pulls_total")?.type).toBe("counter");
    // The scheduler placed it.
    expect(value(await scrape(), "scheduler_schedule_attempts_total", { result: "scheduled", profile: "default-scheduler" })).toBeGreaterThanOrEqual(1);
  });
});
