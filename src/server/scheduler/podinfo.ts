// PodInfo: a pod reduced to what scheduling reads, computed once per pod version.
import type { Pod } from "../../api/resources/core/pod";
import { labelSelectorFromObject, type LabelSelector } from "../../api/selectors";
import type { LabelSelectorObject } from "../../api/validation";
import { DEFAULT_SCORE_CPU, DEFAULT_SCORE_MEMORY, podRequests } from "./resources";
import type { AntiAffinityTerm, HostPort, PodInfo } from "./types";

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
    antiAffinity: antiAffinityTerms(pod, namespace),
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

/**
 * Required anti-affinity terms on the hostname topology (the one bramble enforces; other
 * topology keys are ignored rather than guessed at). Namespaces follow upstream: the listed
 * ones, all of them for an empty namespaceSelector, else the pod's own. A non-empty
 * namespaceSelector would need namespace labels the scheduler does not watch; it is treated as
 * "all namespaces", which can only make the rule stricter, never break it.
 */
function antiAffinityTerms(pod: Pod, namespace: string): AntiAffinityTerm[] {
  const terms = pod.spec?.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
  const out: AntiAffinityTerm[] = [];
  for (const t of terms) {
    if (t.topologyKey !== HOSTNAME_LABEL) continue;
    const sel = selectorOf(t.labelSelector as LabelSelectorObject | undefined);
    if (!sel) continue;
    let namespaces: Set<string> | undefined = new Set(t.namespaces ?? []);
    if (t.namespaceSelector) namespaces = undefined;
    else if (namespaces.size === 0) namespaces.add(namespace);
    out.push({ matches: (labels) => sel.matches(labels), namespaces, topologyKey: t.topologyKey });
  }
  return out;
}
