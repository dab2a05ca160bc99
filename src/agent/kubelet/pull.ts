// Image pulls by imagePullPolicy with imagePullSecrets, and the ErrImagePull → ImagePullBackOff
// waiting reasons while a failing pull backs off.
import type { Pod } from "../../api/resources/core/pod";
import type { ContainerRuntime, RegistryAuth } from "../runtime/runtime";
import { normalizeImageRef } from "../runtime/runtime";
import { pullBackoffMs } from "./backoff";
import { imagePulled } from "./metrics";
import type { PodSources } from "./sources";

export type PullOutcome = { ok: true } | { ok: false; reason: "ErrImagePull" | "ImagePullBackOff" | "ErrImageNeverPull"; message: string; retryInMs?: number };

/** The registry host of an image reference, as Docker decides it. */
export function registryOf(image: string): string {
  const first = image.split("/")[0];
  return image.includes("/") && (first.includes(".") || first.includes(":") || first === "localhost") ? first : "docker.io";
}

const DOCKER_HUB_KEYS = ["docker.io", "index.docker.io", "https://index.docker.io/v1/", "registry-1.docker.io"];

/** Credentials for the image's registry from kubernetes.io/dockerconfigjson (or dockercfg) secrets. */
export async function authFor(pod: Pod, image: string, sources: PodSources): Promise<RegistryAuth | undefined> {
  const registry = registryOf(image);
  const keys = registry === "docker.io" ? DOCKER_HUB_KEYS : [registry, `https://${registry}`, `http://${registry}`];
  for (const ref of pod.spec?.imagePullSecrets ?? []) {
    const data = await sources.secret(ref.name ?? "");
    const raw = data?.[".dockerconfigjson"] ?? data?.[".dockercfg"];
    if (!raw) continue;
    let cfg: Record<string, { username?: string; password?: string; auth?: string }>;
    try {
      const parsed = JSON.parse(new TextDecoder().decode(raw));
      cfg = parsed.auths ?? parsed;
    } catch {
      continue;
    }
    for (const [k, v] of Object.entries(cfg)) {
      if (!keys.includes(k.replace(/\/+$/, "")) && !keys.includes(k)) continue;
      let { username, password } = v;
      if (!username && v.auth) [username, password] = Buffer.from(v.auth, "base64").toString().split(/:(.*)/s);
      return { username, password, serveraddress: registry };
    }
  }
  return undefined;
}

export class ImagePuller {
  private readonly failures = new Map<string, { count: number; until: number; message: string }>();

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly now: () => number = Date.now,
  ) {}

  async ensure(pod: Pod, image: string, policy: string | undefined, sources: PodSources): Promise<PullOutcome> {
    const ref = normalizeImageRef(image);
    const present = await this.runtime.imagePresent(ref);
    const effective = policy ?? (ref.endsWith(":latest") ? "Always" : "IfNotPresent");
    if (effective === "Never") return present ? { ok: true } : { ok: false, reason: "ErrImageNeverPull", message: `Container image "${image}" is not present with pull policy of Never` };
    if (present && effective === "IfNotPresent") return { ok: true };
    const key = `${pod.metadata.uid}/${ref}`;
    const failed = this.failures.get(key);
    if (failed && this.now() < failed.until) {
      if (present) return { ok: true };
      return { ok: false, reason: "ImagePullBackOff", message: `Back-off pulling image "${image}": ${failed.message}`, retryInMs: failed.until - this.now() };
    }
    const start = performance.now();
    try {
      await this.runtime.pullImage(ref, await authFor(pod, ref, sources));
      imagePulled(true, start);
      this.failures.delete(key);
      return { ok: true };
    } catch (e) {
      imagePulled(false, start);
      const count = (failed?.count ?? 0) + 1;
      const message = (e as Error).message;
      this.failures.set(key, { count, until: this.now() + pullBackoffMs(count), message });
      // Air-gapped nodes: an imported image tagged :latest (policy Always by default) is used as
      // it is when the registry cannot be reached, rather than never starting.
      if (present) return { ok: true };
      return { ok: false, reason: "ErrImagePull", message: `Failed to pull image "${image}": ${message}`, retryInMs: pullBackoffMs(count) };
    }
  }

  forgetPod(uid: string) {
    for (const k of this.failures.keys()) if (k.startsWith(`${uid}/`)) this.failures.delete(k);
  }
}
