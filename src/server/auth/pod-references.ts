// The Secrets and ConfigMaps a pod refers to (volumes, env, envFrom, image pull secrets): what
// its node's kubelet must be able to read, and all it may read of them (node authorization).
import type { KubeObject } from "../../api/meta";

type Refs = { secrets: Set<string>; configMaps: Set<string> };

// Pods arrive as stored JSON; walk them loosely instead of trusting every optional field.
type Loose = Record<string, any>;

export function podReferences(pod: KubeObject): Refs {
  const refs: Refs = { secrets: new Set(), configMaps: new Set() };
  const spec = ((pod as Loose).spec ?? {}) as Loose;
  const add = (set: Set<string>, name: unknown) => {
    if (typeof name === "string" && name) set.add(name);
  };
  for (const s of spec.imagePullSecrets ?? []) add(refs.secrets, s?.name);
  for (const v of spec.volumes ?? []) {
    add(refs.secrets, v?.secret?.secretName);
    add(refs.configMaps, v?.configMap?.name);
    for (const src of v?.projected?.sources ?? []) {
      add(refs.secrets, src?.secret?.name);
      add(refs.configMaps, src?.configMap?.name);
    }
  }
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])]) {
    for (const e of c?.env ?? []) {
      add(refs.secrets, e?.valueFrom?.secretKeyRef?.name);
      add(refs.configMaps, e?.valueFrom?.configMapKeyRef?.name);
    }
    for (const e of c?.envFrom ?? []) {
      add(refs.secrets, e?.secretRef?.name);
      add(refs.configMaps, e?.configMapRef?.name);
    }
  }
  return refs;
}
