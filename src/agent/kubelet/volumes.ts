// Pod volumes as directories under <dataDir>/agent/pods/<uid>/volumes/<plugin>/<name>, bind-mounted
// into the containers. Content volumes (configMap, secret, downwardAPI, projected) are rewritten
// atomically (writeFiles) on every render, and re-rendered on the kubelet's periodic resync
// (refreshContentVolumes), so a running container sees updates.
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join, normalize } from "node:path";
import type { Pod } from "../../api/resources/core/pod";
import type { Volume } from "../../api/resources/core/podspec.schema";
import { memoryBytes } from "../../api/quantity";
import { fieldValue, resourceValue, type EnvContext } from "./env";
import type { PodSources } from "./sources";
import { hostNfsMounter, mountClaim, mountNfs, type NfsMounter, type SingleWriterHold } from "./claims";

export const SERVICE_ACCOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount";
export const AUTO_SA_VOLUME = "kube-api-access-bramble";

export interface VolumeContext extends EnvContext {
  caCertPem: string;
  /** The pod's service-account token; "" when the caller has none to give. */
  serviceAccountToken(pod: Pod, audience?: string, expirationSeconds?: number): Promise<string>;
  /** Mounts a tmpfs (emptyDir medium Memory); false when it could not (not root). */
  mountTmpfs(dir: string, sizeBytes?: number): Promise<boolean>;
  /** Mounts nfs volumes (tests swap in their own); default the host's mount.nfs. */
  mountNfs?: NfsMounter;
  /** Takes a ReadWriteOncePod volume for this pod; false when another pod of the node holds it. */
  holdSingleWriter?: SingleWriterHold;
}

export interface RenderedVolume {
  hostPath: string;
  /** Content volumes are always mounted read-only, as upstream does. */
  readOnly: boolean;
}

type Files = Map<string, { data: Uint8Array | string; mode?: number }>;

export const podDir = (dataDir: string, uid: string) => join(dataDir, "agent", "pods", uid);
const enc = new TextEncoder();

/** Rejects item paths that would escape the volume (absolute or with ..). */
function safePath(p: string): string {
  const n = normalize(p);
  if (n.startsWith("/") || n.startsWith("..")) throw new Error(`invalid volume item path ${p}`);
  return n;
}

const DATA = "..data";
const DATA_TMP = "..data_tmp";

/** The files under dir (recursively), relative paths. */
function listFiles(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).filter((name) => lstatSync(join(dir, name)).isFile());
}

function sameContent(dir: string, payload: Map<string, { data: Uint8Array; mode: number }>): boolean {
  try {
    const files = listFiles(dir);
    if (files.length !== payload.size) return false;
    for (const name of files) {
      const want = payload.get(normalize(name));
      if (!want) return false;
      const path = join(dir, name);
      if ((statSync(path).mode & 0o7777) !== want.mode) return false;
      if (!Buffer.from(readFileSync(path)).equals(Buffer.from(want.data))) return false;
    }
    return true;
  } catch {
    return false;
  }
}

const stamp = () => `..${new Date().toISOString().replace(/[-:T]/g, "_").replace(/\..*/, "")}.`;

/**
 * Upstream's AtomicWriter: the payload goes to a fresh timestamped directory, `..data` (a
 * symlink) is swapped to it with one rename, and each top-level name is a symlink through
 * `..data`, so a running container sees either the old files or the new ones, never a mix.
 * Returns whether anything changed. subPath mounts resolve the symlinks when the container is
 * made, so they keep the content of that moment (as upstream).
 */
export function writeFiles(dir: string, files: Files, defaultMode: number): boolean {
  mkdirSync(dir, { recursive: true });
  const payload = new Map<string, { data: Uint8Array; mode: number }>();
  for (const [rel, f] of files) payload.set(safePath(rel), { data: typeof f.data === "string" ? enc.encode(f.data) : f.data, mode: f.mode ?? defaultMode });
  const dataLink = join(dir, DATA);
  let current: string | undefined;
  try {
    current = readlinkSync(dataLink);
  } catch {}
  const top = new Set([...payload.keys()].map((p) => p.split("/")[0]));
  const changed = !current || !sameContent(join(dir, current), payload);
  if (changed) {
    // The file-by-file layout of earlier versions (no ..data yet) is cleared first.
    if (!current) for (const name of readdirSync(dir)) if (!name.startsWith("..")) rmSync(join(dir, name), { recursive: true, force: true });
    const ts = mkdtempSync(join(dir, stamp()));
    chmodSync(ts, 0o755);
    for (const [rel, f] of payload) {
      const path = join(ts, rel);
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
      writeFileSync(path, f.data);
      chmodSync(path, f.mode);
    }
    rmSync(join(dir, DATA_TMP), { force: true });
    symlinkSync(basename(ts), join(dir, DATA_TMP));
    renameSync(join(dir, DATA_TMP), dataLink);
    // Older payloads go once nothing points at them.
    for (const name of readdirSync(dir)) if (name.startsWith("..") && name !== DATA && join(dir, name) !== ts) rmSync(join(dir, name), { recursive: true, force: true });
  }
  for (const name of top) {
    const path = join(dir, name);
    let link = false;
    try {
      link = lstatSync(path).isSymbolicLink();
      if (!link) rmSync(path, { recursive: true, force: true });
    } catch {}
    if (!link) symlinkSync(join(DATA, name), path);
  }
  // Keys removed from the source disappear from the volume.
  for (const name of readdirSync(dir)) {
    if (name.startsWith("..") || top.has(name)) continue;
    if (lstatSync(join(dir, name)).isSymbolicLink()) rmSync(join(dir, name));
  }
  return changed;
}

async function keyFiles(data: Record<string, Uint8Array> | undefined, items: Array<{ key: string; path: string; mode?: number }> | undefined, what: string, optional: boolean | undefined): Promise<Files> {
  const files: Files = new Map();
  if (!data) {
    if (optional) return files;
    throw new Error(`${what} not found`);
  }
  if (items?.length) {
    for (const i of items) {
      if (data[i.key] === undefined) {
        if (optional) continue;
        throw new Error(`${what} has no key "${i.key}"`);
      }
      files.set(i.path, { data: data[i.key], mode: i.mode });
    }
  } else for (const [k, v] of Object.entries(data)) files.set(k, { data: v });
  return files;
}

function downwardFiles(ctx: VolumeContext, items: Array<{ path: string; fieldRef?: { fieldPath: string }; resourceFieldRef?: { containerName?: string; resource: string; divisor?: string | number }; mode?: number }> | undefined): Files {
  const files: Files = new Map();
  for (const i of items ?? []) {
    let value = "";
    if (i.fieldRef) value = fieldValue(ctx, i.fieldRef.fieldPath) ?? "";
    else if (i.resourceFieldRef) {
      const c = ctx.pod.spec?.containers.find((x) => x.name === i.resourceFieldRef!.containerName) ?? ctx.pod.spec?.containers[0];
      value = resourceValue(ctx, c, i.resourceFieldRef.resource, i.resourceFieldRef.divisor);
    }
    files.set(i.path, { data: value, mode: i.mode });
  }
  return files;
}

async function serviceAccountFiles(ctx: VolumeContext, audience?: string, expirationSeconds?: number, path = "token"): Promise<Files> {
  return new Map([[path, { data: await ctx.serviceAccountToken(ctx.pod, audience, expirationSeconds), mode: 0o600 }]]);
}

/** The token, ca.crt and namespace files every pod gets unless automountServiceAccountToken is false. */
async function defaultServiceAccountFiles(ctx: VolumeContext): Promise<Files> {
  const files = await serviceAccountFiles(ctx);
  files.set("ca.crt", { data: ctx.caCertPem, mode: 0o644 });
  files.set("namespace", { data: ctx.pod.metadata.namespace ?? "default", mode: 0o644 });
  return files;
}

async function renderOne(v: Volume, base: string, ctx: VolumeContext, sources: PodSources): Promise<RenderedVolume | undefined> {
  if (v.emptyDir) {
    const dir = join(base, "kubernetes.io~empty-dir", v.name);
    const fresh = !existsSync(dir);
    mkdirSync(dir, { recursive: true, mode: 0o777 });
    chmodSync(dir, 0o777); // any container user may write, as upstream
    if (fresh && v.emptyDir.medium === "Memory") await ctx.mountTmpfs(dir, v.emptyDir.sizeLimit ? memoryBytes(v.emptyDir.sizeLimit) : undefined);
    return { hostPath: dir, readOnly: false };
  }
  if (v.hostPath) {
    const p = v.hostPath.path;
    const type = v.hostPath.type ?? "";
    if (type === "DirectoryOrCreate") mkdirSync(p, { recursive: true, mode: 0o755 });
    else if (type === "FileOrCreate" && !existsSync(p)) {
      mkdirSync(dirname(p), { recursive: true });
      writeFileSync(p, "");
    } else if ((type === "Directory" || type === "File") && !existsSync(p)) throw new Error(`hostPath ${p} does not exist (type ${type})`);
    return { hostPath: p, readOnly: false };
  }
  if (v.persistentVolumeClaim) {
    if (!sources.persistentVolumeClaim || !sources.persistentVolume) throw new Error(`persistentvolumeclaim "${v.persistentVolumeClaim.claimName}" cannot be read on this node`);
    return mountClaim(v.persistentVolumeClaim.claimName, !!v.persistentVolumeClaim.readOnly, v.name, base, sources as Required<PodSources>, ctx.mountNfs, ctx.holdSingleWriter);
  }
  if (v.nfs) return mountNfs(v.nfs, base, v.name, [], ctx.mountNfs ?? hostNfsMounter);
  if (v.configMap) {
    const dir = join(base, "kubernetes.io~configmap", v.name);
    const name = v.configMap.name ?? "";
    writeFiles(dir, await keyFiles(await sources.configMap(name), v.configMap.items, `configmap "${name}"`, v.configMap.optional), v.configMap.defaultMode ?? 0o644);
    return { hostPath: dir, readOnly: true };
  }
  if (v.secret) {
    const dir = join(base, "kubernetes.io~secret", v.name);
    const name = v.secret.secretName ?? "";
    writeFiles(dir, await keyFiles(await sources.secret(name), v.secret.items, `secret "${name}"`, v.secret.optional), v.secret.defaultMode ?? 0o644);
    return { hostPath: dir, readOnly: true };
  }
  if (v.downwardAPI) {
    const dir = join(base, "kubernetes.io~downward-api", v.name);
    writeFiles(dir, downwardFiles(ctx, v.downwardAPI.items), v.downwardAPI.defaultMode ?? 0o644);
    return { hostPath: dir, readOnly: true };
  }
  if (v.projected) {
    const dir = join(base, "kubernetes.io~projected", v.name);
    const files: Files = new Map();
    for (const s of v.projected.sources ?? []) {
      const part = s.configMap
        ? await keyFiles(await sources.configMap(s.configMap.name ?? ""), s.configMap.items, `configmap "${s.configMap.name}"`, s.configMap.optional)
        : s.secret
          ? await keyFiles(await sources.secret(s.secret.name ?? ""), s.secret.items, `secret "${s.secret.name}"`, s.secret.optional)
          : s.downwardAPI
            ? downwardFiles(ctx, s.downwardAPI.items)
            : s.serviceAccountToken
              ? await serviceAccountFiles(ctx, s.serviceAccountToken.audience, s.serviceAccountToken.expirationSeconds, s.serviceAccountToken.path)
              : new Map();
      for (const [k, f] of part) files.set(k, f);
    }
    writeFiles(dir, files, v.projected.defaultMode ?? 0o644);
    return { hostPath: dir, readOnly: true };
  }
  return undefined; // unsupported sources are reported by the caller when mounted
}

/** Renders every volume of the pod; the result maps volume name → host directory. */
export async function renderVolumes(ctx: VolumeContext, dataDir: string, sources: PodSources): Promise<Map<string, RenderedVolume>> {
  const pod = ctx.pod;
  const base = join(podDir(dataDir, pod.metadata.uid!), "volumes");
  const out = new Map<string, RenderedVolume>();
  for (const v of pod.spec?.volumes ?? []) {
    const r = await renderOne(v, base, ctx, sources);
    if (r) out.set(v.name, r);
  }
  if (pod.spec?.automountServiceAccountToken !== false) {
    const dir = join(base, "kubernetes.io~projected", AUTO_SA_VOLUME);
    writeFiles(dir, await defaultServiceAccountFiles(ctx), 0o644);
    out.set(AUTO_SA_VOLUME, { hostPath: dir, readOnly: true });
  }
  return out;
}

const isContent = (v: Volume) => !!(v.configMap || v.secret || v.downwardAPI || v.projected);

/** Whether the pod has volumes whose content comes from the API (so they need refreshing). */
export function hasContentVolumes(pod: Pod): boolean {
  return pod.spec?.automountServiceAccountToken !== false || (pod.spec?.volumes ?? []).some(isContent);
}

/**
 * Re-renders the content volumes (configMap, secret, downwardAPI, projected, service-account
 * files) of a running pod. A volume whose source cannot be read keeps its last content (as
 * upstream); the errors are returned for the caller to report.
 */
export async function refreshContentVolumes(ctx: VolumeContext, dataDir: string, sources: PodSources): Promise<string[]> {
  const pod = ctx.pod;
  const base = join(podDir(dataDir, pod.metadata.uid!), "volumes");
  const errors: string[] = [];
  for (const v of (pod.spec?.volumes ?? []).filter(isContent)) {
    try {
      await renderOne(v, base, ctx, sources);
    } catch (e) {
      errors.push(`volume "${v.name}": ${(e as Error).message}`);
    }
  }
  if (pod.spec?.automountServiceAccountToken !== false) {
    try {
      writeFiles(join(base, "kubernetes.io~projected", AUTO_SA_VOLUME), await defaultServiceAccountFiles(ctx), 0o644);
    } catch (e) {
      errors.push(`service account token: ${(e as Error).message}`);
    }
  }
  return errors;
}

/** Bind mounts for one container: its volumeMounts, plus the service-account files unless it mounts that path itself. */
export function containerMounts(pod: Pod, mounts: Array<{ name: string; mountPath: string; subPath?: string; readOnly?: boolean }> | undefined, volumes: Map<string, RenderedVolume>) {
  const out: Array<{ hostPath: string; containerPath: string; readOnly: boolean }> = [];
  for (const m of mounts ?? []) {
    const v = volumes.get(m.name);
    if (!v) throw new Error(`volume "${m.name}" is not supported by bramble or not defined in the pod`);
    let hostPath = v.hostPath;
    if (m.subPath) {
      hostPath = join(v.hostPath, safePath(m.subPath));
      if (!existsSync(hostPath)) mkdirSync(hostPath, { recursive: true });
    }
    out.push({ hostPath, containerPath: m.mountPath, readOnly: v.readOnly || !!m.readOnly });
  }
  const sa = volumes.get(AUTO_SA_VOLUME);
  if (sa && !out.some((m) => m.containerPath === SERVICE_ACCOUNT_PATH)) out.push({ hostPath: sa.hostPath, containerPath: SERVICE_ACCOUNT_PATH, readOnly: true });
  void pod;
  return out;
}

export const encodeText = (s: string) => enc.encode(s);
