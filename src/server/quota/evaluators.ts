// What an object counts against quota, per resource, as upstream's quota evaluators
// (pkg/quota/v1/evaluator/core): pods charge their compute requests and limits while they are
// not finished, Services their node ports and load balancers, PersistentVolumeClaims their
// storage, and every object its `count/<resource>.<group>` (plus the legacy names such as
// `configmaps`). Shared by the admission step, which charges a request, and the controller,
// which tallies a namespace.
import type { KubeObject } from "../../api/meta";
import { tryParseQuantity, type Quantity } from "../../api/quantity";
import { podQOSClass } from "../../api/resources/core/podspec.defaults";
import type { Container, PodSpec } from "../../api/resources/core/podspec.schema";
import type { Pod } from "../../api/resources/core/pod";
import type { ResourceQuota, ScopedResourceSelectorRequirement } from "../../api/resources/core/resourcequota";
import { labelSelectorFromObject } from "../../api/selectors";
import { add, parseResourceList, type ResourceList } from "./resourcelist";

export interface GroupResource {
  group: string;
  plural: string;
}

export interface Evaluator {
  /** Whether a write of this kind can change usage: creates always, updates only where usage can grow. */
  handlesUpdate: boolean;
  /** The names of `names` this evaluator tracks. */
  matchingResources(names: string[]): string[];
  /** Whether the object falls under one scope selector of a quota. */
  matchesScope(sel: ScopedResourceSelectorRequirement, obj: KubeObject): boolean;
  usage(obj: KubeObject, now: Date): ResourceList;
  /** Requirements a quota puts on the object itself (pods must state what cpu/memory quotas track). */
  constraints?(required: string[], obj: KubeObject): string | undefined;
}

/** `count/pods`, `count/deployments.apps`. */
export const objectCountName = (gr: GroupResource) => `count/${gr.plural}${gr.group ? `.${gr.group}` : ""}`;

const one = (): Quantity => ({ nano: 1_000_000_000n, format: "DecimalSI" });

/** Kinds never charged (upstream's ignored resources). */
const IGNORED = new Set(["/events", "events.k8s.io/events", "/bindings"]);

/** Legacy names counted alongside count/<resource> for core kinds. */
const LEGACY_COUNT: Record<string, string> = {
  configmaps: "configmaps",
  secrets: "secrets",
  resourcequotas: "resourcequotas",
  replicationcontrollers: "replicationcontrollers",
};

/** Scopes apply to pods only: every other kind is outside any scoped quota. */
const noScope = () => false;

function objectCountEvaluator(gr: GroupResource): Evaluator {
  const names = [objectCountName(gr), ...(gr.group === "" && LEGACY_COUNT[gr.plural] ? [LEGACY_COUNT[gr.plural]!] : [])];
  return {
    handlesUpdate: false,
    matchingResources: (input) => input.filter((n) => names.includes(n)),
    matchesScope: noScope,
    usage: () => new Map(names.map((n) => [n, one()])),
  };
}

// ----- pods -------------------------------------------------------------------------------

const POD_RESOURCES = new Set([
  "count/pods", "cpu", "memory", "ephemeral-storage", "requests.cpu", "requests.memory", "requests.ephemeral-storage",
  "limits.cpu", "limits.memory", "limits.ephemeral-storage", "pods",
]);
/** Quotas on these make every container state them (upstream keeps this for compatibility). */
const REQUIRED_FROM_CONTAINERS = new Set(["cpu", "memory", "requests.cpu", "requests.memory", "limits.cpu", "limits.memory"]);
const isNativeName = (n: string) => !n.includes("/") || n.includes("kubernetes.io/");
const isExtendedResource = (n: string) => !isNativeName(n) && !n.startsWith("requests.");

type List = Record<string, string | number>;

/** What one container's (or the pod's) requests and limits put into quota usage. */
function computeUsage(requests: ResourceList, limits: ResourceList): ResourceList {
  const out: ResourceList = new Map([["pods", one()]]);
  for (const r of ["cpu", "memory", "ephemeral-storage"]) {
    const req = requests.get(r);
    if (req) {
      out.set(r, req);
      out.set(`requests.${r}`, req);
    }
    const lim = limits.get(r);
    if (lim) out.set(`limits.${r}`, lim);
  }
  for (const [r, q] of requests) {
    if (r.startsWith("hugepages-")) {
      out.set(r, q);
      out.set(`requests.${r}`, q);
    } else if (isExtendedResource(r)) out.set(`requests.${r}`, q);
  }
  return out;
}

const maxOf = (a: ResourceList, b: ResourceList): ResourceList => {
  const out = new Map(a);
  for (const [k, v] of b) if (!out.has(k) || out.get(k)!.nano < v.nano) out.set(k, v);
  return out;
};

/**
 * A pod's effective requests (or limits): its containers and sidecars together, or the largest
 * init container with the sidecars started before it, whichever is more; plus overhead.
 */
export function podAggregate(spec: PodSpec | undefined, field: "requests" | "limits"): ResourceList {
  const of = (c: Container) => parseResourceList(c.resources?.[field] as List | undefined);
  let total: ResourceList = new Map();
  for (const c of spec?.containers ?? []) total = add(total, of(c));
  let sidecars: ResourceList = new Map();
  let initMax: ResourceList = new Map();
  for (const c of spec?.initContainers ?? []) {
    const own = of(c);
    if ((c as { restartPolicy?: string }).restartPolicy === "Always") {
      sidecars = add(sidecars, own);
      initMax = maxOf(initMax, sidecars);
    } else initMax = maxOf(initMax, add(own, sidecars));
  }
  total = maxOf(add(total, sidecars), initMax);
  const overhead = (spec as { overhead?: List } | undefined)?.overhead;
  return overhead ? add(total, parseResourceList(overhead)) : total;
}

/** Counted against compute quota: not finished, and not past its deletion grace period. */
export function podCountsForCompute(pod: Pod, now: Date): boolean {
  const phase = pod.status?.phase;
  if (phase === "Succeeded" || phase === "Failed") return false;
  const deletedAt = pod.metadata.deletionTimestamp;
  if (deletedAt && pod.metadata.deletionGracePeriodSeconds !== undefined) {
    if (now.getTime() > Date.parse(deletedAt) + pod.metadata.deletionGracePeriodSeconds * 1000) return false;
  }
  return true;
}

function podUsage(pod: Pod, now: Date): ResourceList {
  const out: ResourceList = new Map([["count/pods", one()]]);
  if (!podCountsForCompute(pod, now)) return out;
  return add(out, computeUsage(podAggregate(pod.spec, "requests"), podAggregate(pod.spec, "limits")));
}

const isTerminating = (pod: Pod) => (pod.spec?.activeDeadlineSeconds ?? -1) >= 0;
const isBestEffort = (pod: Pod) => podQOSClass(pod.spec ?? ({} as PodSpec)) === "BestEffort";

function crossNamespaceAffinity(pod: Pod): boolean {
  const a = pod.spec?.affinity as
    | { podAffinity?: Record<string, unknown[]>; podAntiAffinity?: Record<string, unknown[]> }
    | undefined;
  const terms: { namespaces?: string[]; namespaceSelector?: unknown; podAffinityTerm?: { namespaces?: string[]; namespaceSelector?: unknown } }[] = [];
  for (const side of [a?.podAffinity, a?.podAntiAffinity]) {
    if (!side) continue;
    terms.push(...((side.requiredDuringSchedulingIgnoredDuringExecution ?? []) as typeof terms));
    for (const w of (side.preferredDuringSchedulingIgnoredDuringExecution ?? []) as typeof terms) if (w.podAffinityTerm) terms.push(w.podAffinityTerm);
  }
  return terms.some((t) => !!t.namespaces?.length || t.namespaceSelector != null);
}

export function podMatchesScope(sel: ScopedResourceSelectorRequirement, obj: KubeObject): boolean {
  const pod = obj as Pod;
  switch (sel.scopeName) {
    case "Terminating":
      return isTerminating(pod);
    case "NotTerminating":
      return !isTerminating(pod);
    case "BestEffort":
      return isBestEffort(pod);
    case "NotBestEffort":
      return !isBestEffort(pod);
    case "CrossNamespacePodAffinity":
      return crossNamespaceAffinity(pod);
    case "PriorityClass": {
      const pc = pod.spec?.priorityClassName;
      if (sel.operator === "Exists") return !!pc;
      const selector = labelSelectorFromObject({ matchExpressions: [{ key: "PriorityClass", operator: sel.operator as "In", values: sel.values }] });
      return selector.matches(pc ? { PriorityClass: pc } : {});
    }
  }
  return false;
}

function podConstraints(required: string[], obj: KubeObject): string | undefined {
  const pod = obj as Pod;
  const needed = required.filter((r) => REQUIRED_FROM_CONTAINERS.has(r));
  if (!needed.length) return undefined;
  const missing = new Map<string, Set<string>>();
  for (const c of [...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])]) {
    const has = computeUsage(parseResourceList(c.resources?.requests as List | undefined), parseResourceList(c.resources?.limits as List | undefined));
    for (const r of needed) if (!has.has(r)) (missing.get(r) ?? missing.set(r, new Set()).get(r)!).add(c.name);
  }
  if (!missing.size) return undefined;
  const parts = [...missing.keys()].sort().map((r) => `${r} for: ${[...missing.get(r)!].sort().join(",")}`);
  return `must specify ${parts.join("; ")}`;
}

const podEvaluator: Evaluator = {
  handlesUpdate: false,
  matchingResources: (input) =>
    input.filter((n) => POD_RESOURCES.has(n) || n.startsWith("hugepages-") || n.startsWith("requests.hugepages-") || (n.startsWith("requests.") && isExtendedResource(n.slice(9)))),
  matchesScope: podMatchesScope,
  usage: (obj, now) => podUsage(obj as Pod, now),
  constraints: podConstraints,
};

// ----- services ---------------------------------------------------------------------------

const SERVICE_RESOURCES = ["count/services", "services", "services.nodeports", "services.loadbalancers"];

interface ServiceLike {
  spec?: { type?: string; ports?: unknown[]; allocateLoadBalancerNodePorts?: boolean };
}

const serviceEvaluator: Evaluator = {
  handlesUpdate: true,
  matchingResources: (input) => input.filter((n) => SERVICE_RESOURCES.includes(n)),
  matchesScope: noScope,
  usage(obj) {
    const spec = (obj as ServiceLike).spec ?? {};
    const ports = spec.ports?.length ?? 0;
    const n = (k: number): Quantity => ({ nano: BigInt(k) * 1_000_000_000n, format: "DecimalSI" });
    const out: ResourceList = new Map([["count/services", one()], ["services", one()]]);
    if (spec.type === "NodePort") out.set("services.nodeports", n(ports));
    if (spec.type === "LoadBalancer") {
      out.set("services.loadbalancers", one());
      // Without node ports (allocateLoadBalancerNodePorts: false) a load balancer holds none.
      out.set("services.nodeports", n(spec.allocateLoadBalancerNodePorts === false ? 0 : ports));
    }
    return out;
  },
};

// ----- persistent volume claims -----------------------------------------------------------

const STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/";

interface ClaimLike {
  spec?: { storageClassName?: string; resources?: { requests?: List } };
  status?: { allocatedResources?: List };
}

const claimEvaluator: Evaluator = {
  handlesUpdate: true,
  matchingResources: (input) =>
    input.filter(
      (n) =>
        ["count/persistentvolumeclaims", "persistentvolumeclaims", "requests.storage"].includes(n) ||
        (n.includes(STORAGE_CLASS_SUFFIX) && (n.endsWith("/requests.storage") || n.endsWith("/persistentvolumeclaims"))),
    ),
  matchesScope: noScope,
  usage(obj) {
    const claim = obj as ClaimLike;
    const out: ResourceList = new Map([["count/persistentvolumeclaims", one()], ["persistentvolumeclaims", one()]]);
    const cls = claim.spec?.storageClassName;
    if (cls) out.set(`${cls}${STORAGE_CLASS_SUFFIX}persistentvolumeclaims`, one());
    // The larger of what is asked and what was allocated (a shrink request still holds the old size).
    const asked = tryParseQuantity(claim.spec?.resources?.requests?.storage);
    const allocated = tryParseQuantity(claim.status?.allocatedResources?.storage);
    const storage = asked && allocated ? (allocated.nano > asked.nano ? allocated : asked) : (asked ?? allocated);
    if (storage) {
      out.set("requests.storage", storage);
      if (cls) out.set(`${cls}${STORAGE_CLASS_SUFFIX}requests.storage`, storage);
    }
    return out;
  },
};

// ----- lookup -----------------------------------------------------------------------------

const cache = new Map<string, Evaluator | undefined>();

/** The evaluator for a resource, or undefined for resources quota never charges. */
export function evaluatorFor(gr: GroupResource): Evaluator | undefined {
  const key = `${gr.group}/${gr.plural}`;
  if (cache.has(key)) return cache.get(key);
  let ev: Evaluator | undefined;
  if (IGNORED.has(key)) ev = undefined;
  else if (key === "/pods") ev = podEvaluator;
  else if (key === "/services") ev = serviceEvaluator;
  else if (key === "/persistentvolumeclaims") ev = claimEvaluator;
  else ev = objectCountEvaluator(gr);
  cache.set(key, ev);
  return ev;
}

/** A quota's scopes and scope selector as one list of requirements (CalculateScopeSelectors). */
export function scopeSelectorsOf(rq: ResourceQuota): ScopedResourceSelectorRequirement[] {
  return [
    ...(rq.spec?.scopes ?? []).map((s) => ({ scopeName: s, operator: "Exists" })),
    ...(rq.spec?.scopeSelector?.matchExpressions ?? []),
  ];
}

/** generic.Matches: the quota limits something this evaluator tracks, and the object is in every scope. */
export function quotaMatches(rq: ResourceQuota, ev: Evaluator, obj: KubeObject): boolean {
  if (!ev.matchingResources(Object.keys(rq.status?.hard ?? {})).length) return false;
  return scopeSelectorsOf(rq).every((sel) => ev.matchesScope(sel, obj));
}
