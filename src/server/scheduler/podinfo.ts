// PodInfo: a pod reduced to what scheduling reads, computed once per pod version.
import type { Pod } from "../../api/resources/core/pod";
import { labelSelectorFromObject, type LabelSelector } from "../../api/selectors";
import type { LabelSelectorObject } from "../../api/validation";
import { DEFAULT_SCORE_CPU, DEFAULT_SCORE_MEMORY, podRequests } from "./resources";
import type { PodSpec } from "../../api/resources/core/podspec.schema";
import type { AffinityTerm, HostPort, PodInfo, SpreadConstraint } from "./types";

export const HOSTNAME_LABEL = "kubernetes.io/hostname";

export const podKey = (pod: Pod) => `${pod.metadata.namespace ?? ""}/${pod.metadata.name}`;

export function buildPodInfo(pod: Pod): PodInfo {
  const spec = pod.spec;
  const requests = podRequests(pod);
  const namespace = pod.metadata.namespace ?? "default";
  const nodeAffinity = spec?.affinity?.nodeAffinity;
  const required = nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  const preferred = nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution;
  return {
    key: podKey(pod),
    namespace,
    name: pod.metadata.name ?? "",
    labels: pod.metadata.labels ?? {},
    requests,
    scoreCpu: requests.cpu || DEFAULT_SCORE_CPU,
    scoreMemory: requests.memory || DEFAULT_SCORE_MEMORY,
    hostPorts: hostPortsOf(pod),
    nodeSelector: spec?.nodeSelector && Object.keys(spec.nodeSelector).length ? spec.nodeSelector : undefined,
    requiredTerms: required ? required.nodeSelectorTerms : undefined,
    preferredTerms: preferred?.length ? preferred : undefined,
    tolerations: spec?.tolerations ?? [],
    affinity: affinityTerms(spec?.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution, pod, namespace),
    antiAffinity: affinityTerms(spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution, pod, namespace),
    spreadFilter: spreadConstraints(pod, "DoNotSchedule"),
    spreadScore: spreadConstraints(pod, "ScheduleAnyway"),
    priority: spec?.priority ?? 0,
    neverPreempts: spec?.preemptionPolicy === "Never",
    terminating: !!pod.metadata.deletionTimestamp,
    startTime: startTimeOf(pod),
    pod,
  };
}

function hostPortsOf(pod: Pod): HostPort[] {
  const ports: HostPort[] = [];
  const containers = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
  for (const c of containers)
    for (const p of c.ports ?? []) if (p.hostPort && p.hostPort > 0) ports.push({ port: p.hostPort, protocol: p.protocol || "TCP", ip: p.hostIP || "0.0.0.0" });
  return ports;
}

function selectorOf(obj: LabelSelectorObject | undefined): LabelSelector | undefined {
  try {
    return labelSelectorFromObject(obj);
  } catch {
    return undefined; // the API rejects bad operators; a term that cannot be read matches nothing
  }
}

type PodAffinityTerm = NonNullable<NonNullable<NonNullable<PodSpec["affinity"]>["podAffinity"]>["requiredDuringSchedulingIgnoredDuringExecution"]>[number];
type Labels = Readonly<Record<string, string>>;
type Matcher = (labels: Record<string, string> | undefined) => boolean;

/**
 * A label selector object plus upstream's key merges: for each key the pod has, matchLabelKeys
 * adds `key in (value)` and mismatchLabelKeys `key notin (value)`. A nil selector matches nothing.
 */
function matcherOf(obj: unknown, own: Labels, matchKeys: readonly string[] = [], mismatchKeys: readonly string[] = []): Matcher | undefined {
  const sel = selectorOf(obj as LabelSelectorObject | undefined);
  if (!sel) return undefined;
  const same = matchKeys.filter((k) => Object.hasOwn(own, k));
  const differ = mismatchKeys.filter((k) => Object.hasOwn(own, k));
  if (!same.length && !differ.length) return (labels) => sel.matches(labels);
  return (labels) => {
    if (!sel.matches(labels)) return false;
    for (const k of same) if (labels?.[k] !== own[k]) return false;
    for (const k of differ) if (labels && Object.hasOwn(labels, k) && labels[k] === own[k]) return false;
    return true;
  };
}

const NO_TERMS: readonly AffinityTerm[] = [];
const NO_CONSTRAINTS: readonly SpreadConstraint[] = [];

/**
 * Required pod (anti-)affinity terms. Namespaces follow upstream: the listed ones plus those an
 * namespaceSelector picks (all of them for an empty one); the pod's own when neither is given.
 */
function affinityTerms(terms: readonly PodAffinityTerm[] | undefined, pod: Pod, namespace: string): readonly AffinityTerm[] {
  if (!terms?.length) return NO_TERMS;
  const own = pod.metadata.labels ?? {};
  const out: AffinityTerm[] = [];
  for (const t of terms) {
    const matches = matcherOf(t.labelSelector, own, t.matchLabelKeys, t.mismatchLabelKeys) ?? (() => false);
    const namespaces = new Set(t.namespaces ?? []);
    const nsSel = t.namespaceSelector ? selectorOf(t.namespaceSelector as LabelSelectorObject) : undefined;
    const allNamespaces = !!nsSel?.isEmpty();
    if (!t.namespaceSelector && namespaces.size === 0) namespaces.add(namespace);
    out.push({ matches, namespaces, allNamespaces, namespaceSelector: nsSel && !allNamespaces ? nsSel : undefined, topologyKey: t.topologyKey });
  }
  return out;
}

function spreadConstraints(pod: Pod, when: "DoNotSchedule" | "ScheduleAnyway"): readonly SpreadConstraint[] {
  const all = pod.spec?.topologySpreadConstraints;
  if (!all?.length) return NO_CONSTRAINTS;
  const own = pod.metadata.labels ?? {};
  const out: SpreadConstraint[] = [];
  for (const c of all) {
    if (c.whenUnsatisfiable !== when) continue;
    out.push({
      maxSkew: c.maxSkew,
      topologyKey: c.topologyKey,
      minDomains: c.minDomains ?? 1,
      matches: matcherOf(c.labelSelector, own, c.matchLabelKeys) ?? (() => false),
      honorNodeAffinity: (c.nodeAffinityPolicy ?? "Honor") === "Honor",
      honorNodeTaints: c.nodeTaintsPolicy === "Honor",
    });
  }
  return out;
}

function startTimeOf(pod: Pod): number {
  const t = Date.parse(pod.status?.startTime ?? pod.metadata.creationTimestamp ?? "");
  return Number.isNaN(t) ? 0 : t;
}
