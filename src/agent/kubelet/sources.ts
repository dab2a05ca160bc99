// ConfigMaps, Secrets and claims (with their volumes) a pod refers to, read through the API once per sync (a kubelet must
// not depend on a cache of every secret in the cluster; node authorization allows only these).
import { ApiError } from "../../api/errors";
import type { ConfigMap } from "../../api/resources/core/configmap";
import type { Secret } from "../../api/resources/core/secret";
import { configMaps, secrets } from "../../client/refs";
import type { KubeClient } from "../../client/client";
import { KINDS } from "../../api/kinds";
import type { PersistentVolume } from "../../api/resources/core/persistentvolume";
import type { PersistentVolumeClaim } from "../../api/resources/core/persistentvolumeclaim";
import type { ClaimSources } from "./claims";

export interface PodSources extends Partial<ClaimSources> {
  configMap(name: string): Promise<Record<string, Uint8Array> | undefined>;
  secret(name: string): Promise<(Record<string, Uint8Array> & {}) | undefined>;
  secretObject(name: string): Promise<Secret | undefined>;
}

const enc = new TextEncoder();

export function apiSources(client: KubeClient, namespace: string): PodSources {
  const cms = new Map<string, Promise<ConfigMap | undefined>>();
  const secs = new Map<string, Promise<Secret | undefined>>();
  const orMissing = <T>(p: Promise<T>) => p.catch((e) => (e instanceof ApiError && e.code === 404 ? undefined : Promise.reject(e)));
  const getCm = (name: string) => {
    if (!cms.has(name)) cms.set(name, orMissing(client.resource<ConfigMap>(configMaps).get(namespace, name)));
    return cms.get(name)!;
  };
  const getSecret = (name: string) => {
    if (!secs.has(name)) secs.set(name, orMissing(client.resource<Secret>(secrets).get(namespace, name)));
    return secs.get(name)!;
  };
  return {
    async configMap(name) {
      const cm = await getCm(name);
      if (!cm) return undefined;
      const out: Record<string, Uint8Array> = {};
      for (const [k, v] of Object.entries((cm as { data?: Record<string, string> }).data ?? {})) out[k] = enc.encode(v);
      for (const [k, v] of Object.entries((cm as { binaryData?: Record<string, string> }).binaryData ?? {})) out[k] = Buffer.from(v, "base64");
      return out;
    },
    async secret(name) {
      const s = await getSecret(name);
      if (!s) return undefined;
      const out: Record<string, Uint8Array> = {};
      for (const [k, v] of Object.entries((s as { data?: Record<string, string> }).data ?? {})) out[k] = Buffer.from(v, "base64");
      for (const [k, v] of Object.entries((s as { stringData?: Record<string, string> }).stringData ?? {})) out[k] = enc.encode(v);
      return out;
    },
    secretObject: getSecret,
    persistentVolumeClaim: (name) => orMissing(client.resource<PersistentVolumeClaim>(KINDS.persistentVolumeClaims).get(namespace, name)),
    persistentVolume: (name) => orMissing(client.resource<PersistentVolume>(KINDS.persistentVolumes).get(undefined, name)),
  };
}
