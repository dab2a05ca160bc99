// Resource arithmetic: what a pod requests and what a node offers, in plain numbers.
import type { Node } from "../../api/resources/core/node";
import type { Pod } from "../../api/resources/core/pod";
import type { Container } from "../../api/resources/core/podspec.schema";
import { cpuMillis, memoryBytes, quantityValue, tryParseQuantity } from "../../api/quantity";
import type { Resources } from "./types";

type ResourceMap = Record<string, string | number> | undefined;

export const ZERO: Resources = Object.freeze({ cpu: 0, memory: 0, pods: 0, scalar: Object.freeze({}) });

/** Upstream's defaults for scoring pods that request nothing, so best-effort pods still spread/pack sensibly. */
export const DEFAULT_SCORE_CPU = 100;
export const DEFAULT_SCORE_MEMORY = 200 * 1024 * 1024;

/** Malformed quantities never reach here (the API validates them); treat them as 0 anyway. */
function safe(f: (v: string | number) => number, v: string | number): number {
  try {
    return f(v);
  } catch {
    return 0;
  }
}

interface Mutable {
  cpu: number;
  memory: number;
  pods: number;
  scalar: Record<string, number>;
}

function fromMap(map: ResourceMap): Mutable {
  const r: Mutable = { cpu: 0, memory: 0, pods: 0, scalar: {} };
  for (const [name, v] of Object.entries(map ?? {})) {
    if (name === "cpu") r.cpu = safe(cpuMillis, v);
    else if (name === "memory") r.memory = safe(memoryBytes, v);
    else if (name === "pods") r.pods = safe(memoryBytes, v);
    else {
      const q = tryParseQuantity(v);
      if (q) r.scalar[name] = quantityValue(q);
    }
  }
  return r;
}

function addInto(a: Mutable, b: Mutable) {
  a.cpu += b.cpu;
  a.memory += b.memory;
  for (const [k, v] of Object.entries(b.scalar)) a.scalar[k] = (a.scalar[k] ?? 0) + v;
}

function maxInto(a: Mutable, b: Mutable) {
  a.cpu = Math.max(a.cpu, b.cpu);
  a.memory = Math.max(a.memory, b.memory);
  for (const [k, v] of Object.entries(b.scalar)) a.scalar[k] = Math.max(a.scalar[k] ?? 0, v);
}

const requestsOf = (c: Container): Mutable => fromMap(c.resources?.requests as ResourceMap);

/**
 * Upstream's effective pod request: max(sum of app containers, the largest init container),
 * plus pod overhead. Restartable (sidecar) init containers keep running, so they add to the sum
 * and to every later init container's peak. Pod-level `spec.resources.requests`, when set, wins
 * for the resources it names.
 */
export function podRequests(pod: Pod): Resources {
  const spec = pod.spec;
  const total: Mutable = { cpu: 0, memory: 0, pods: 1, scalar: {} };
  for (const c of spec?.containers ?? []) addInto(total, requestsOf(c));
  const sidecars: Mutable = { cpu: 0, memory: 0, pods: 0, scalar: {} };
  const initPeak: Mutable = { cpu: 0, memory: 0, pods: 0, scalar: {} };
  for (const c of spec?.initContainers ?? []) {
    const req = requestsOf(c);
    if ((c as { restartPolicy?: string }).restartPolicy === "Always") {
      addInto(total, req);
      addInto(sidecars, req);
    } else {
      addInto(req, sidecars);
      maxInto(initPeak, req);
    }
  }
  maxInto(total, initPeak);
  const podLevel = spec?.resources?.requests as ResourceMap;
  if (podLevel) {
    const p = fromMap(podLevel);
    if (podLevel.cpu !== undefined) total.cpu = p.cpu;
    if (podLevel.memory !== undefined) total.memory = p.memory;
  }
  const overhead = spec?.overhead as ResourceMap;
  if (overhead) addInto(total, fromMap(overhead));
  return total;
}

export function nodeAllocatable(node: Node): Resources {
  // Upstream falls back to capacity only in the kubelet; the scheduler reads allocatable alone.
  return fromMap(node.status?.allocatable as ResourceMap);
}

export function addResources(a: Resources, b: Resources, sign = 1): Resources {
  let scalar: Record<string, number> = a.scalar;
  const keys = Object.keys(b.scalar);
  if (keys.length) {
    scalar = { ...a.scalar };
    for (const k of keys) scalar[k] = (scalar[k] ?? 0) + sign * b.scalar[k];
  }
  return { cpu: a.cpu + sign * b.cpu, memory: a.memory + sign * b.memory, pods: a.pods + sign * b.pods, scalar };
}
