// The dashboard's pure logic, run in the browser (served as JavaScript, its types stripped) and
// unit-tested here: quantities, a pod's requests, a node's bin geometry, rollout state, pod
// status, watch-event folding and the line splitting of a watch stream. No DOM, no imports: the
// browser loads this file on its own.

type Obj = { metadata: { name: string; namespace?: string; resourceVersion?: string; uid?: string; deletionTimestamp?: string; ownerReferences?: { kind: string; name: string }[] }; [k: string]: any };

const DECIMAL: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };
const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };

/** A quantity ("250m", "1.5Gi", "2e3") as a plain number of base units; NaN when it is not one. */
export function quantity(v: string | number | undefined | null): number {
  if (v === undefined || v === null || v === "") return 0;
  if (typeof v === "number") return v;
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))([a-zA-Z]*|[eE][+-]?\d+)$/.exec(v.trim());
  if (!m) return NaN;
  const n = Number(m[1]);
  const suffix = m[2]!;
  if (suffix in BINARY) return n * BINARY[suffix]!;
  if (suffix in DECIMAL) return n * DECIMAL[suffix]!;
  if (/^[eE][+-]?\d+$/.test(suffix)) return n * 10 ** Number(suffix.slice(1));
  return NaN;
}

/** Rounds up, as the API server does ("1n" is 1m), but not for float noise ("0.1" is 100m). */
function ceil(x: number): number {
  const r = Math.round(x);
  return Math.abs(x - r) <= 1e-9 * Math.max(1, Math.abs(x)) ? r : Math.ceil(x);
}
/** CPU in millicores. */
export const cpuMillis = (v: string | number | undefined | null): number => ceil(quantity(v) * 1000);
/** Memory in bytes. */
export const memoryBytes = (v: string | number | undefined | null): number => ceil(quantity(v));

export interface Amount {
  cpu: number; // millicores
  mem: number; // bytes
}

/**
 * What the scheduler counts for a pod: the larger of its app containers' sum (plus restartable
 * init containers, which run beside them) and any one init container, plus the pod's overhead.
 */
export function podRequests(pod: Obj): Amount {
  const spec = pod.spec ?? {};
  const req = (c: any, r: "cpu" | "memory") => c?.resources?.requests?.[r];
  const of = (c: any): Amount => ({ cpu: cpuMillis(req(c, "cpu")), mem: memoryBytes(req(c, "memory")) });
  const sum: Amount = { cpu: 0, mem: 0 };
  const sidecars: Amount = { cpu: 0, mem: 0 };
  const initMax: Amount = { cpu: 0, mem: 0 };
  for (const c of spec.containers ?? []) add(sum, of(c));
  for (const c of spec.initContainers ?? []) {
    const a = of(c);
    if (c.restartPolicy === "Always") {
      add(sidecars, a);
      continue;
    }
    // A plain init container runs with the sidecars started before it.
    initMax.cpu = Math.max(initMax.cpu, a.cpu + sidecars.cpu);
    initMax.mem = Math.max(initMax.mem, a.mem + sidecars.mem);
  }
  add(sum, sidecars);
  const overhead = spec.overhead ?? {};
  return { cpu: Math.max(sum.cpu, initMax.cpu) + cpuMillis(overhead.cpu), mem: Math.max(sum.mem, initMax.mem) + memoryBytes(overhead.memory) };
}

function add(to: Amount, a: Amount) {
  to.cpu += a.cpu;
  to.mem += a.mem;
}

/** Pods that no longer hold their node's resources. */
export const isTerminal = (pod: Obj) => pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";

export interface Segment {
  key: string; // namespace/name
  name: string;
  namespace: string;
  request: Amount;
  /** Left edge and width in percent of the bin, per resource. */
  cpu: { offset: number; width: number };
  mem: { offset: number; width: number };
}

export interface Bin {
  node: string;
  allocatable: Amount;
  requested: Amount;
  /** Percent of allocatable, not clamped (over 100 means overcommitted). */
  requestedPct: Amount;
  segments: Segment[];
  /** Actual usage (metrics.k8s.io) in percent of allocatable, when known. */
  usagePct?: Amount;
  usage?: Amount;
}

const pct = (part: number, whole: number) => (whole > 0 ? (part / whole) * 100 : 0);

/**
 * A node as a bin of size allocatable, its pods' requests stacked in it (largest CPU first, then
 * by name so the order is stable); segments past the edge are cut at 100%.
 */
export function nodeBin(node: Obj, pods: Obj[], usage?: Amount): Bin {
  const alloc = node.status?.allocatable ?? node.status?.capacity ?? {};
  const allocatable: Amount = { cpu: cpuMillis(alloc.cpu), mem: memoryBytes(alloc.memory) };
  const mine = pods
    .filter((p) => p.spec?.nodeName === node.metadata.name && !isTerminal(p))
    .map((p) => ({ p, r: podRequests(p) }))
    .sort((a, b) => b.r.cpu - a.r.cpu || b.r.mem - a.r.mem || keyOf(a.p).localeCompare(keyOf(b.p)));
  const requested: Amount = { cpu: 0, mem: 0 };
  const segments: Segment[] = [];
  for (const { p, r } of mine) {
    const cpuOffset = Math.min(100, pct(requested.cpu, allocatable.cpu));
    const memOffset = Math.min(100, pct(requested.mem, allocatable.mem));
    add(requested, r);
    segments.push({
      key: keyOf(p),
      name: p.metadata.name,
      namespace: p.metadata.namespace ?? "",
      request: r,
      cpu: { offset: cpuOffset, width: Math.min(100, pct(requested.cpu, allocatable.cpu)) - cpuOffset },
      mem: { offset: memOffset, width: Math.min(100, pct(requested.mem, allocatable.mem)) - memOffset },
    });
  }
  const bin: Bin = { node: node.metadata.name, allocatable, requested, requestedPct: { cpu: pct(requested.cpu, allocatable.cpu), mem: pct(requested.mem, allocatable.mem) }, segments };
  if (usage) {
    bin.usage = usage;
    bin.usagePct = { cpu: pct(usage.cpu, allocatable.cpu), mem: pct(usage.mem, allocatable.mem) };
  }
  return bin;
}

export const keyOf = (o: Obj) => (o.metadata.namespace ? `${o.metadata.namespace}/${o.metadata.name}` : o.metadata.name);

/** A NodeMetrics or PodMetrics item as an Amount (a pod's containers summed). */
export function metricsUsage(m: Obj): Amount {
  const parts = m.containers ? m.containers.map((c: any) => c.usage ?? {}) : [m.usage ?? {}];
  const total: Amount = { cpu: 0, mem: 0 };
  for (const u of parts) add(total, { cpu: cpuMillis(u.cpu), mem: memoryBytes(u.memory) });
  return total;
}

export function formatCpu(m: number): string {
  return m >= 1000 && m % 100 === 0 ? `${m / 1000}` : `${m}m`;
}

export function formatMem(bytes: number): string {
  const units = ["", "Ki", "Mi", "Gi", "Ti"];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Number.isInteger(v) ? v : v.toFixed(1)}${units[i]}`;
}

export interface Rollout {
  ready: number;
  desired: number;
  state: "ready" | "progressing" | "failed" | "complete" | "suspended";
}

/** ready/desired and a one-word state for a Deployment, StatefulSet, DaemonSet or Job. */
export function rollout(kind: string, o: Obj): Rollout {
  const s = o.status ?? {};
  const spec = o.spec ?? {};
  if (kind === "Job") {
    const conds: any[] = s.conditions ?? [];
    const has = (t: string) => conds.some((c) => c.type === t && c.status === "True");
    const desired = spec.completions ?? 1;
    const state = has("Complete") ? "complete" : has("Failed") ? "failed" : spec.suspend ? "suspended" : "progressing";
    return { ready: s.succeeded ?? 0, desired, state };
  }
  if (kind === "DaemonSet") {
    const desired = s.desiredNumberScheduled ?? 0;
    const ready = s.numberReady ?? 0;
    const current = (s.updatedNumberScheduled ?? 0) === desired && (s.observedGeneration ?? 0) >= (o.metadata as any).generation;
    return { ready, desired, state: ready === desired && current ? "ready" : "progressing" };
  }
  const desired = spec.replicas ?? 1;
  const ready = s.readyReplicas ?? 0;
  const updated = s.updatedReplicas ?? (kind === "StatefulSet" ? s.currentReplicas : undefined) ?? 0;
  const observed = (s.observedGeneration ?? 0) >= ((o.metadata as any).generation ?? 0);
  if (kind === "Deployment" && (s.conditions ?? []).some((c: any) => c.type === "Progressing" && c.reason === "ProgressDeadlineExceeded")) return { ready, desired, state: "failed" };
  const done = observed && ready === desired && updated === desired && (s.replicas ?? 0) === desired;
  return { ready, desired, state: done ? "ready" : "progressing" };
}

/** kubectl get pods' STATUS column, near enough: a waiting/terminated reason wins over the phase. */
export function podStatus(pod: Obj): { status: string; restarts: number; ready: string } {
  const s = pod.status ?? {};
  let status: string = s.reason ?? s.phase ?? "Pending";
  const containers: any[] = s.containerStatuses ?? [];
  const inits: any[] = s.initContainerStatuses ?? [];
  const restarts = [...containers, ...inits].reduce((n, c) => n + (c.restartCount ?? 0), 0);
  for (const c of inits) {
    const r = c.state?.waiting?.reason ?? (c.state?.terminated && c.state.terminated.exitCode !== 0 ? c.state.terminated.reason : undefined);
    if (r) {
      status = `Init:${r}`;
      break;
    }
  }
  if (!status.startsWith("Init:")) {
    for (const c of containers) {
      const r = c.state?.waiting?.reason ?? c.state?.terminated?.reason;
      if (r) status = r;
    }
  }
  if (pod.metadata.deletionTimestamp) status = "Terminating";
  const readyCount = containers.filter((c) => c.ready).length;
  return { status, restarts, ready: `${readyCount}/${(pod.spec?.containers ?? []).length}` };
}

export interface WatchEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: Obj;
}

/**
 * Applies one watch event to a map of objects by key. Returns the resourceVersion to resume
 * from, or "expired" for an ERROR (410 Gone: the caller lists again).
 */
export function foldEvent(objects: Map<string, Obj>, ev: WatchEvent): string | "expired" {
  if (ev.type === "ERROR") return "expired";
  const rv = ev.object?.metadata?.resourceVersion ?? "";
  if (ev.type === "BOOKMARK") return rv;
  const key = keyOf(ev.object);
  if (ev.type === "DELETED") objects.delete(key);
  else objects.set(key, ev.object);
  return rv;
}

/** Splits a byte stream's text into lines, keeping a partial last line for the next chunk. */
export class LineSplitter {
  private rest = "";
  push(chunk: string): string[] {
    const text = this.rest + chunk;
    const lines = text.split("\n");
    this.rest = lines.pop()!;
    return lines.filter((l) => l.trim() !== "");
  }
}

/**
 * The bearer token in what was pasted: a bare token, or a kubeconfig (YAML or JSON) whose
 * current context's user has a token (the first user with one when there is no current context).
 */
export function tokenFrom(pasted: string): string | undefined {
  const text = pasted.trim();
  if (!text) return undefined;
  if (!/[\s:{]/.test(text)) return text;
  if (text.startsWith("{")) {
    try {
      const kc = JSON.parse(text);
      const ctx = (kc.contexts ?? []).find((c: any) => c.name === kc["current-context"]);
      const users: any[] = kc.users ?? [];
      const user = users.find((u) => u.name === ctx?.context?.user) ?? users.find((u) => u.user?.token);
      return user?.user?.token || undefined;
    } catch {
      return undefined;
    }
  }
  // YAML kubeconfig: the items of its top-level contexts: and users: lists.
  const items: Record<string, string[]> = {};
  let section = "";
  for (const line of text.split("\n")) {
    const top = /^([A-Za-z][\w-]*):/.exec(line);
    if (top) section = top[1]!;
    else if (/^\s*-\s/.test(line) && /^\s*/.exec(line)![0].length <= 2) (items[section] ??= []).push(line);
    else if (items[section]?.length) items[section]![items[section]!.length - 1] += `\n${line}`;
  }
  const field = (item: string, name: string) => {
    const v = new RegExp(`^[\\s-]*${name}:[ \\t]*(\\S.*?)\\s*$`, "m").exec(item)?.[1];
    return v?.replace(/^(["'])(.*)\1$/, "$2");
  };
  const current = field(text.split("\n").filter((l) => /^current-context:/.test(l)).join("\n"), "current-context");
  const user = (items.contexts ?? []).map((c) => (field(c, "name") === current ? field(c, "user") : undefined)).find(Boolean);
  const users = items.users ?? [];
  const chosen = users.find((u) => user !== undefined && field(u, "name") === user && field(u, "token")) ?? users.find((u) => field(u, "token"));
  return chosen ? field(chosen, "token") : undefined;
}

