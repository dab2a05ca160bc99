// One pod's reconcile: compare the pod with its containers in the runtime and take the next
// steps — sandbox, init containers in order, app containers, restarts with backoff, graceful
// termination — then report status. Idempotent: everything is decided from what the runtime
// shows (labels carry attempt numbers and backoff streaks), so a restarted kubelet picks up
// where the last one stopped without restarting anything.
import { podGone, podRunning, podSeen } from "./metrics";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ApiError } from "../../api/errors";
import type { Pod } from "../../api/resources/core/pod";
import { pods as podsDef } from "../../client/refs";
import type { Container } from "../../api/resources/core/podspec.schema";
import type { KubeClient } from "../../client/client";
import type { EventRecorder } from "../../client/events";
import type { Logger } from "../../machinery/log";
import { LABELS, type ContainerInfo, type ContainerLogPolicy, type ContainerRuntime } from "../runtime/runtime";
import { effectiveStreak, restartDelayMs } from "./backoff";
import { containerEnv, type EnvContext } from "./env";
import { runAction } from "./handlers";
import { attemptOf, containerLabels, containerName, groupAttempts, kindOf, NODE_LABEL, ownership, PAUSE_NAME, specHash, streakOf, type ContainerKind } from "./names";
import type { ProbeManager } from "./probes";
import type { ImagePuller } from "./pull";
import { apiSources, type PodSources } from "./sources";
import { appSpec, pauseSpec, resolvConf } from "./spec";
import { computePodStatus, sameStatus, type ContainerView } from "./status";
import { mountTmpfs, removePodDir, stopContainer } from "./terminate";
import { containerMounts, hasContentVolumes, podDir, refreshContentVolumes, renderVolumes, type RenderedVolume, type VolumeContext } from "./volumes";
import { tokenRefreshAt } from "./token";

export interface SyncConfig {
  nodeName: string;
  /** The cluster's identity (names.ts clusterIdOf), on every container this node makes. */
  clusterId: string;
  dataDir: string;
  network: string;
  pauseImage: string;
  clusterDns?: string;
  clusterDomain?: string;
  apiServerHost: string;
  apiServerPort: number;
  caCertPem: string;
  nodeCpuMillis: number;
  nodeMemoryBytes: number;
  hostIP(): string | undefined;
  serviceAccountToken(pod: Pod, audience?: string, expirationSeconds?: number): Promise<string>;
  /** Content volumes of running pods are re-rendered when their last render is this old (ms). */
  volumeRefreshMs?: number;
  /** Log rotation for app and init containers; the runtime's default when unset. */
  containerLogs?: ContainerLogPolicy;
  /** Whether a pod that has not started may start now (node pressure); a rejection ends it Failed. */
  admitPod?(pod: Pod): { reason: string; message: string } | undefined;
}

export interface SyncDeps {
  client: KubeClient;
  runtime: ContainerRuntime;
  runtimeName: string;
  probes: ProbeManager;
  puller: ImagePuller;
  events: EventRecorder;
  log: Logger;
  enqueue(uid: string): void;
  now?: () => Date;
}

/** An init container with restartPolicy Always: a sidecar. */
export const isSidecar = (c: Container) => c.restartPolicy === "Always";

/** The app containers have all ended for good (restartPolicy Never or OnFailure): sidecars stop. */
function appsFinished(pod: Pod, apps: Map<string, ContainerInfo[]>): boolean {
  const policy = pod.spec?.restartPolicy ?? "Always";
  if (policy === "Always") return false;
  return (pod.spec?.containers ?? []).every((c) => {
    const cur = apps.get(c.name)?.[0];
    return cur?.state === "exited" && (policy === "Never" || cur.exitCode === 0);
  });
}

/** A postStart hook that has not finished by then counts as failed. */
const POST_START_TIMEOUT_MS = 120_000;

const isGone = (e: unknown) => e instanceof ApiError && (e.code === 404 || e.code === 409);
const metaTimeNow = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");
const msSince = (t: string | undefined, now: number) => (t ? now - Date.parse(t) : 0);

interface Pass {
  pod: Pod;
  sources: PodSources;
  podIP?: string;
  sandboxId: string;
  volumes?: Map<string, RenderedVolume>;
  views: Map<string, ContainerView>;
  requeueMs: number[];
}

export class PodSync {
  private readonly terminating = new Map<string, Promise<void>>();
  /** Pods the eviction manager chose, with their message: stopped at once and reported Failed/Evicted. */
  private readonly evicted = new Map<string, { message: string; annotations?: Record<string, string>; reported?: boolean }>();
  private readonly written = new Map<string, { rv: number; status: unknown }>();
  /** When each pod's content volumes were last rendered (ms). */
  private readonly refreshedAt = new Map<string, number>();
  /** ReadWriteOncePod volume name → the uid of the pod of this node it is set up for. */
  private readonly singleWriters = new Map<string, string>();
  /** ReadWriteOncePod volume name → pods of this node waiting for it. */
  private readonly singleWriterWaiters = new Map<string, Set<string>>();
  /** Service-account tokens by pod uid, audience and lifetime, reused until 80% of it is gone. */
  private readonly tokens = new Map<string, { token: string; refreshAt: number }>();
  private readonly now: () => Date;

  constructor(
    private readonly cfg: SyncConfig,
    private readonly d: SyncDeps,
  ) {
    this.now = d.now ?? (() => new Date());
  }

  /** This pod's containers on this node of this cluster (a pod uid alone could be restored into two). */
  private async list(uid: string) {
    const all = await this.d.runtime.listContainers({ [LABELS.podUid]: uid, [NODE_LABEL]: this.cfg.nodeName });
    return all.filter((c) => ownership(c.labels, this.cfg) === "ours");
  }

  /** Brings one pod (by uid) in line; `pod` undefined means it is gone from the API. */
  async sync(uid: string, pod: Pod | undefined): Promise<{ requeueAfterMs?: number } | void> {
    let all = await this.list(uid);
    if (!pod) return this.removeAll(uid, all, 2);
    podSeen(uid);
    if (pod.metadata.deletionTimestamp) {
      // Stopped, reported and deleted already: only finalizers (a Job's, say) keep it in the API,
      // and there is nothing left to do until it goes. Terminating it again would spin.
      const done = pod.metadata.deletionGracePeriodSeconds === 0 && (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed");
      if (done && !all.length) return;
      return void this.terminate(pod, all);
    }
    const phase = pod.status?.phase;
    const evictedWith = this.evicted.get(uid);
    if (evictedWith && !evictedWith.reported && phase !== "Succeeded" && phase !== "Failed") {
      await this.evictNow(pod, all, evictedWith.message, evictedWith.annotations);
      evictedWith.reported = true;
      return;
    }
    // Evicted and reported, even if this copy of the pod does not show it yet: it stays down.
    if (phase === "Succeeded" || phase === "Failed" || evictedWith?.reported) {
      // Terminal: nothing runs again; the exited containers stay for logs until the pod goes.
      for (const c of all) if (c.state === "running") await this.d.runtime.stopContainer(c.id, 2);
      this.d.probes.forgetPod(uid);
      this.releaseSingleWriters(uid);
      return;
    }

    // A pod that never started here is admitted first, as upstream's kubelet does on a pod's arrival.
    const rejected = all.length === 0 && !pod.status?.startTime ? this.cfg.admitPod?.(pod) : undefined;
    if (rejected) {
      this.d.events.event(pod, "Warning", rejected.reason, rejected.message);
      return void (await this.writeStatus(pod, { ...pod.status, phase: "Failed", reason: rejected.reason, message: rejected.message }));
    }
    const sandbox = await this.ensureSandbox(pod, all);
    if (!sandbox) return { requeueAfterMs: 1000 };
    all = await this.list(uid);
    const pass: Pass = {
      pod,
      sources: apiSources(this.d.client, pod.metadata.namespace ?? "default"),
      podIP: pod.spec?.hostNetwork ? this.cfg.hostIP() : sandbox.ips[this.cfg.network] ?? Object.values(sandbox.ips)[0],
      sandboxId: sandbox.id,
      views: new Map(),
      requeueMs: [],
    };
    await this.refreshVolumes(pass, all);
    const initViews = new Map<string, ContainerView>();
    const initDone = await this.runInit(pass, all, initViews);
    if (initDone) await this.runApps(pass, all);
    // Ephemeral containers may start before initialization is complete, as upstream.
    const ephemeralViews = new Map<string, ContainerView>();
    await this.runEphemeral(pass, all, ephemeralViews);
    all = await this.list(uid);
    return this.report(pass, all, sandbox, initViews, ephemeralViews);
  }

  /** The running pause container, created when missing or dead. */
  private async ensureSandbox(pod: Pod, all: ContainerInfo[]): Promise<ContainerInfo | undefined> {
    const sandboxes = [...(groupAttempts(all, "pause").get(PAUSE_NAME) ?? [])];
    const current = sandboxes[0];
    if (current?.state === "running") {
      for (const old of sandboxes.slice(1)) await this.d.runtime.removeContainer(old.id);
      return current;
    }
    // No sandbox, or it died: its network namespace is gone, so containers in it must go too.
    for (const c of all) if (c.state === "running") await this.d.runtime.stopContainer(c.id, 2);
    for (const old of sandboxes) await this.d.runtime.removeContainer(old.id);
    const attempt = current ? attemptOf(current) + 1 : 0;
    const labels = containerLabels(pod, this.cfg, PAUSE_NAME, "pause", attempt, 0, "");
    const spec = pauseSpec(pod, { image: this.cfg.pauseImage, network: this.cfg.network, clusterDns: this.cfg.clusterDns, clusterDomain: this.cfg.clusterDomain }, containerName(pod, PAUSE_NAME, attempt), labels);
    const id = await this.d.runtime.createContainer(spec);
    await this.d.runtime.startContainer(id);
    return this.d.runtime.inspectContainer(id);
  }

  /**
   * Init containers one at a time, in order; true when all have succeeded. A sidecar (an init
   * container with restartPolicy Always) is not waited for to exit: the next one starts once it
   * is started (running, postStart done, startupProbe passed), and it keeps running alongside the
   * app containers, restarted (with backoff) whenever it exits, whatever the pod's policy.
   */
  private async runInit(pass: Pass, all: ContainerInfo[], views: Map<string, ContainerView>): Promise<boolean> {
    const groups = groupAttempts(all, "init");
    const apps = groupAttempts(all, "app");
    const policy = pass.pod.spec?.restartPolicy ?? "Always";
    const specs = pass.pod.spec?.initContainers ?? [];
    const finished = appsFinished(pass.pod, apps);
    let done = true;
    for (const [i, c] of specs.entries()) {
      const attempts = groups.get(c.name) ?? [];
      const view: ContainerView = { attempts, ready: false, started: false };
      views.set(c.name, view);
      if (isSidecar(c)) {
        // Something after it already exists: this sidecar let the pod past it before.
        const passed = apps.size > 0 || specs.slice(i + 1).some((n) => groups.has(n.name));
        let cur = attempts[0];
        if (cur?.state !== "running" && (done || passed) && !finished) {
          const id = await this.startOrBackOff(pass, c, "init", attempts, view);
          cur = id ? { ...(cur ?? ({} as ContainerInfo)), id, state: "running" } : cur;
        }
        if (!done || passed) continue;
        if (cur?.state === "running" && (!c.startupProbe || this.d.probes.state(cur.id).started)) continue;
        done = false;
        continue;
      }
      if (!done) continue;
      const cur = attempts[0];
      if (cur?.state === "exited" && cur.exitCode === 0) continue;
      done = false;
      if (cur?.state === "running") continue;
      if (cur?.state === "exited" && policy === "Never") continue; // the pod fails
      await this.startOrBackOff(pass, c, "init", attempts, view);
    }
    return done;
  }

  private async runApps(pass: Pass, all: ContainerInfo[]) {
    const groups = groupAttempts(all, "app");
    const policy = pass.pod.spec?.restartPolicy ?? "Always";
    for (const c of pass.pod.spec?.containers ?? []) {
      const attempts = groups.get(c.name) ?? [];
      const view: ContainerView = { attempts, ready: false, started: false };
      pass.views.set(c.name, view);
      const cur = attempts[0];
      if (cur?.state === "running") {
        if (cur.labels[LABELS.specHash] !== specHash(c)) {
          // The container's spec changed (e.g. a new image): replace it, as upstream does.
          this.d.events.event(pass.pod, "Normal", "Killing", `Container ${c.name} definition changed, will be restarted`);
          await stopContainer(this.d.runtime, cur, c, this.grace(pass.pod), pass.podIP);
          pass.requeueMs.push(0);
        }
        continue;
      }
      if (cur?.state === "exited") {
        const restart = policy === "Always" || (policy === "OnFailure" && cur.exitCode !== 0);
        if (!restart) continue;
      }
      await this.startOrBackOff(pass, c, "app", attempts, view);
    }
  }

  /**
   * Ephemeral containers (kubectl debug) start once and are never restarted. They join the
   * pod's network and IPC namespaces like any container; with targetContainerName, the target's
   * process namespace too (Docker's PidMode container:<id>), once the target runs.
   */
  private async runEphemeral(pass: Pass, all: ContainerInfo[], views: Map<string, ContainerView>) {
    const groups = groupAttempts(all, "ephemeral");
    const running = (name: string) => [...(groupAttempts(all, "app").get(name) ?? []), ...(groupAttempts(all, "init").get(name) ?? [])].find((c) => c.state === "running");
    for (const e of pass.pod.spec?.ephemeralContainers ?? []) {
      const attempts = groups.get(e.name) ?? [];
      const view: ContainerView = { attempts, ready: false, started: false };
      views.set(e.name, view);
      if (attempts.some((a) => a.state !== "created")) continue;
      let pidMode: string | undefined;
      if (e.targetContainerName) {
        const target = running(e.targetContainerName);
        if (!target) {
          pass.requeueMs.push(1000);
          continue;
        }
        pidMode = `container:${target.id}`;
      }
      await this.startOrBackOff(pass, e as Container, "ephemeral", attempts, view, pidMode);
    }
  }

  /** Starts the next attempt of a container, unless a crash loop makes it wait; its id when it runs. */
  private async startOrBackOff(pass: Pass, c: Container, kind: ContainerKind, attempts: ContainerInfo[], view: ContainerView, pidMode?: string): Promise<string | undefined> {
    const cur = attempts[0];
    let attempt = 0;
    let streak = 0;
    if (cur && cur.state !== "created") {
      const now = this.now().getTime();
      const ranFor = cur.startedAt && cur.finishedAt ? Date.parse(cur.finishedAt) - Date.parse(cur.startedAt) : 0;
      const s = effectiveStreak(streakOf(cur), ranFor);
      const wait = restartDelayMs(s) - msSince(cur.finishedAt, now);
      if (wait > 0) {
        view.waiting = { reason: "CrashLoopBackOff", message: `back-off ${Math.round(restartDelayMs(s) / 1000)}s restarting failed container=${c.name} pod=${pass.pod.metadata.name}_${pass.pod.metadata.namespace}(${pass.pod.metadata.uid})` };
        this.d.events.event(pass.pod, "Warning", "BackOff", "Back-off restarting failed container");
        pass.requeueMs.push(wait);
        return;
      }
      attempt = attemptOf(cur) + 1;
      streak = s + 1;
    } else if (cur) {
      // Created but never started (a start that failed): try again under the same attempt.
      attempt = attemptOf(cur);
      streak = streakOf(cur);
      await this.d.runtime.removeContainer(cur.id);
    }
    const pulled = await this.d.puller.ensure(pass.pod, c.image ?? "", c.imagePullPolicy, pass.sources);
    if (!pulled.ok) {
      view.waiting = { reason: pulled.reason, message: pulled.message };
      this.d.events.event(pass.pod, "Warning", pulled.reason === "ImagePullBackOff" ? "BackOff" : "Failed", pulled.message);
      pass.requeueMs.push(pulled.retryInMs ?? 10_000);
      return;
    }
    if (!pass.volumes) {
      try {
        pass.volumes = await renderVolumes(this.volumeContext(pass), this.cfg.dataDir, pass.sources);
        this.refreshedAt.set(pass.pod.metadata.uid!, this.now().getTime());
      } catch (e) {
        // As upstream's volume manager: the pod stays ContainerCreating, with FailedMount events.
        view.waiting = { reason: "ContainerCreating" };
        this.d.events.event(pass.pod, "Warning", "FailedMount", `MountVolume.SetUp failed: ${(e as Error).message}`);
        pass.requeueMs.push(5000);
        return;
      }
    }
    let id: string;
    try {
      const env = await containerEnv(this.envContext(pass), c, pass.sources);
      const mounts = [...containerMounts(pass.pod, c.volumeMounts, pass.volumes), ...this.resolvConfMount(pass.pod, c)];
      const labels = containerLabels(pass.pod, this.cfg, c.name, kind, attempt, streak, specHash(c));
      const spec = appSpec({ pod: pass.pod, container: c, name: containerName(pass.pod, c.name, attempt), labels, sandboxId: pass.sandboxId, env, mounts });
      id = await this.d.runtime.createContainer({ ...spec, ...(pidMode && { pidMode }), logs: this.cfg.containerLogs });
    } catch (e) {
      view.waiting = { reason: "CreateContainerConfigError", message: (e as Error).message };
      this.d.events.event(pass.pod, "Warning", "Failed", `Error: ${(e as Error).message}`);
      pass.requeueMs.push(5000);
      return;
    }
    this.d.events.event(pass.pod, "Normal", "Created", `Created container ${c.name}`);
    let started = false;
    try {
      await this.d.runtime.startContainer(id);
      started = true;
      this.d.events.event(pass.pod, "Normal", "Started", `Started container ${c.name}`);
    } catch (e) {
      view.waiting = { reason: "RunContainerError", message: (e as Error).message };
      this.d.events.event(pass.pod, "Warning", "Failed", `Error: ${(e as Error).message}`);
      pass.requeueMs.push(5000);
    }
    if (started && c.lifecycle?.postStart) started = await this.postStart(pass, c, id);
    // Keep the previous attempt (for `kubectl logs --previous`), remove older ones.
    for (const old of attempts.slice(1)) await this.d.runtime.removeContainer(old.id);
    return started ? id : undefined;
  }

  /**
   * ConfigMap, Secret, downward API and projected volumes of a running pod follow their sources:
   * re-rendered (atomically, see writeFiles) at most every volumeRefreshMs, which the kubelet's
   * periodic resync of every pod makes happen. subPath mounts keep what they got (as upstream).
   */
  private async refreshVolumes(pass: Pass, all: ContainerInfo[]) {
    const uid = pass.pod.metadata.uid!;
    if (!hasContentVolumes(pass.pod) || !all.some((c) => kindOf(c) !== "pause" && c.state === "running")) return;
    const now = this.now().getTime();
    const at = this.refreshedAt.get(uid);
    if (at !== undefined && now - at < (this.cfg.volumeRefreshMs ?? 25_000)) return;
    this.refreshedAt.set(uid, now);
    for (const e of await refreshContentVolumes(this.volumeContext(pass), this.cfg.dataDir, pass.sources)) {
      this.d.events.event(pass.pod, "Warning", "FailedMount", `MountVolume.SetUp failed for ${e}`);
    }
  }

  private async token(pod: Pod, audience?: string, expirationSeconds?: number): Promise<string> {
    const key = `${pod.metadata.uid}|${audience ?? ""}|${expirationSeconds ?? ""}`;
    const now = this.now().getTime();
    const hit = this.tokens.get(key);
    if (hit && now < hit.refreshAt) return hit.token;
    const token = await this.cfg.serviceAccountToken(pod, audience, expirationSeconds);
    this.tokens.set(key, { token, refreshAt: tokenRefreshAt(token, now, expirationSeconds ?? 3600) });
    return token;
  }

  /**
   * postStart runs right after the start, before the container counts as started (probes begin
   * after it); a failure kills the container, and the restart policy (with backoff) takes over.
   */
  private async postStart(pass: Pass, c: Container, id: string): Promise<boolean> {
    const r = await runAction(c.lifecycle!.postStart!, { runtime: this.d.runtime, containerId: id, container: c, podIP: pass.podIP }, POST_START_TIMEOUT_MS);
    if (r.ok) return true;
    this.d.log.warn("postStart hook failed", { pod: `${pass.pod.metadata.namespace}/${pass.pod.metadata.name}`, container: c.name, error: r.message });
    // As upstream: the hook's output stays out of the event (it may hold secrets).
    this.d.events.event(pass.pod, "Warning", "FailedPostStartHook", "PostStartHook failed");
    this.d.events.event(pass.pod, "Normal", "Killing", `FailedPostStartHook`);
    const info = await this.d.runtime.inspectContainer(id).catch(() => undefined);
    if (info) await stopContainer(this.d.runtime, info, c, this.grace(pass.pod), pass.podIP);
    pass.requeueMs.push(0);
    return false;
  }

  private async report(pass: Pass, all: ContainerInfo[], sandbox: ContainerInfo, initViews: Map<string, ContainerView>, ephemeralViews: Map<string, ContainerView>) {
    const { pod } = pass;
    const init = groupAttempts(all, "init");
    const app = groupAttempts(all, "app");
    const ephemeral = groupAttempts(all, "ephemeral");
    const imageIDs = new Map<string, string>();
    const imageID = async (c: ContainerInfo | undefined) => {
      if (!c) return undefined;
      if (!imageIDs.has(c.image)) {
        const i = await this.d.runtime.imagePresent(c.image).catch(() => undefined);
        imageIDs.set(c.image, i?.repoDigests[0] ? `docker-pullable://${i.repoDigests[0]}` : `${this.d.runtimeName}://${c.imageId}`);
      }
      return imageIDs.get(c.image);
    };
    const running: Array<{ container: Container; id: string }> = [];
    for (const [name, v] of initViews) {
      v.attempts = init.get(name) ?? [];
      v.imageID = await imageID(v.attempts[0]);
      const spec = pod.spec?.initContainers?.find((c) => c.name === name);
      if (spec && isSidecar(spec) && v.attempts[0]?.state === "running") {
        running.push({ container: spec, id: v.attempts[0].id });
        if (v.waiting?.reason === "CrashLoopBackOff") v.waiting = undefined;
      }
    }
    for (const c of pod.spec?.containers ?? []) {
      const v = pass.views.get(c.name) ?? { attempts: [], ready: false, started: false };
      v.attempts = app.get(c.name) ?? [];
      const cur = v.attempts[0];
      if (cur?.state === "running") {
        running.push({ container: c, id: cur.id });
        if (v.waiting?.reason === "CrashLoopBackOff") v.waiting = undefined;
      }
      v.imageID = await imageID(cur);
      pass.views.set(c.name, v);
    }
    for (const [name, v] of ephemeralViews) {
      v.attempts = ephemeral.get(name) ?? [];
      v.started = v.attempts[0]?.state === "running";
      v.imageID = await imageID(v.attempts[0]);
    }
    this.d.probes.sync(pod, running, pass.podIP);
    for (const r of running) Object.assign((isSidecar(r.container) && initViews.get(r.container.name)) || pass.views.get(r.container.name)!, this.d.probes.state(r.id));
    const status = computePodStatus({
      pod,
      now: this.now(),
      runtimeName: this.d.runtimeName,
      sandboxReady: sandbox.state === "running",
      podIP: pass.podIP,
      hostIP: this.cfg.hostIP(),
      init: initViews,
      app: pass.views,
      ephemeral: ephemeralViews,
    });
    if (status.phase === "Succeeded" || status.phase === "Failed") {
      // The app containers are done: sidecars stop (newest first), then the sandbox.
      const sidecars = all.filter((c) => kindOf(c) === "init" && c.state === "running").reverse();
      const specs = new Map((pod.spec?.initContainers ?? []).map((c) => [c.name, c]));
      for (const c of sidecars) await stopContainer(this.d.runtime, c, specs.get(c.labels[LABELS.container] ?? ""), this.grace(pod), pass.podIP);
      await this.d.runtime.stopContainer(sandbox.id, 1);
      this.d.probes.forgetPod(pod.metadata.uid!);
    }
    await this.writeStatus(pod, status);
    const next = pass.requeueMs.length ? Math.max(0, Math.min(...pass.requeueMs)) : undefined;
    return next === undefined ? undefined : { requeueAfterMs: next + 50 };
  }

  /** Writes the status unless it is what the API (or our last, not yet seen write) already has. */
  private async writeStatus(pod: Pod, status: NonNullable<Pod["status"]>) {
    const uid = pod.metadata.uid!;
    const rv = Number(pod.metadata.resourceVersion ?? 0);
    const last = this.written.get(uid);
    if (last && rv < last.rv && sameStatus(last.status, status)) return; // our write is on its way
    if (sameStatus(pod.status, status)) return;
    try {
      const updated = await this.d.client.resource<Pod>(podsDef).patch(pod.metadata.namespace, pod.metadata.name!, { metadata: { uid }, status }, "merge", "status");
      this.written.set(uid, { rv: Number(updated.metadata.resourceVersion ?? 0), status });
      if (status.phase === "Running") {
        // Seen running before (an agent restart, a readiness change): not a start.
        if (pod.status?.phase !== "Running") podRunning(uid);
        else podGone(uid);
      } else if (status.phase === "Succeeded" || status.phase === "Failed") podGone(uid);
    } catch (e) {
      if (!isGone(e)) throw e;
    }
  }

  private grace(pod: Pod): number {
    return pod.metadata.deletionGracePeriodSeconds ?? pod.spec?.terminationGracePeriodSeconds ?? 30;
  }

  /** Graceful deletion, in the background so one slow pod does not hold a worker for its grace period. */
  private terminate(pod: Pod, all: ContainerInfo[]) {
    const uid = pod.metadata.uid!;
    if (this.terminating.has(uid)) return;
    const run = (async () => {
      this.d.probes.forgetPod(uid);
      const grace = this.grace(pod);
      const sandbox = groupAttempts(all, "pause").get(PAUSE_NAME)?.[0];
      const podIP = pod.status?.podIP ?? sandbox?.ips[this.cfg.network];
      const specs = new Map([...(pod.spec?.containers ?? []), ...(pod.spec?.initContainers ?? [])].map((c) => [c.name, c]));
      const apps = all.filter((c) => kindOf(c) !== "pause" && c.state === "running");
      if (apps.length) this.d.events.event(pod, "Normal", "Killing", `Stopping container${apps.length > 1 ? "s" : ""} ${apps.map((c) => c.labels[LABELS.container]).join(", ")}`);
      // App containers first, then sidecars (in reverse order), as upstream.
      const deadline = Date.now() + grace * 1000;
      const stop = (c: ContainerInfo) => stopContainer(this.d.runtime, c, specs.get(c.labels[LABELS.container] ?? ""), Math.max(0, Math.ceil((deadline - Date.now()) / 1000)), podIP);
      await Promise.all(apps.filter((c) => kindOf(c) !== "init").map(stop));
      const order = (pod.spec?.initContainers ?? []).map((c) => c.name);
      const sidecars = apps.filter((c) => kindOf(c) === "init").sort((a, b) => order.indexOf(b.labels[LABELS.container] ?? "") - order.indexOf(a.labels[LABELS.container] ?? ""));
      for (const c of sidecars) await stop(c);
      await this.finalStatus(pod, await this.list(uid)).catch((e) => this.d.log.warn("final pod status not written", { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, error: String(e) }));
      await this.removeAll(uid, await this.list(uid), 1);
      try {
        await this.d.client.resource<Pod>(podsDef).delete(pod.metadata.namespace, pod.metadata.name!, { gracePeriodSeconds: 0, preconditions: { uid } });
      } catch (e) {
        if (!isGone(e)) throw e;
      }
    })()
      .catch((e) => this.d.log.warn("pod termination failed; will retry", { pod: `${pod.metadata.namespace}/${pod.metadata.name}`, error: String(e) }))
      .finally(() => {
        this.terminating.delete(uid);
        this.d.enqueue(uid);
      });
    this.terminating.set(uid, run);
  }

  /**
   * The last word before the pod object goes: its containers' terminated states and a terminal
   * phase (Succeeded when every app container exited 0, Failed otherwise), as upstream writes.
   */
  private async finalStatus(pod: Pod, all: ContainerInfo[]) {
    await this.writeStatus(pod, await this.terminalStatus(pod, all));
  }

  /** The status of a pod whose containers have all stopped for good. */
  private async terminalStatus(pod: Pod, all: ContainerInfo[]) {
    const known = new Map([...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].map((s) => [s.name, s.imageID]));
    const views = (kind: ContainerKind) => {
      const out = new Map<string, ContainerView>();
      for (const [name, attempts] of groupAttempts(all, kind)) out.set(name, { attempts, ready: false, started: false, imageID: known.get(name) || undefined });
      return out;
    };
    const sandbox = groupAttempts(all, "pause").get(PAUSE_NAME)?.[0];
    const status = computePodStatus({
      pod,
      now: this.now(),
      runtimeName: this.d.runtimeName,
      sandboxReady: false,
      podIP: pod.status?.podIP ?? sandbox?.ips[this.cfg.network],
      hostIP: this.cfg.hostIP() ?? pod.status?.hostIP,
      init: views("init"),
      app: views("app"),
      ephemeral: views("ephemeral"),
      terminal: true,
    });
    return status;
  }

  /** Marks a pod for eviction; its next sync (the caller enqueues it) stops it and reports it. */
  markEvicted(uid: string, message: string, eventAnnotations?: Record<string, string>) {
    this.evicted.set(uid, { message, annotations: eventAnnotations });
  }

  /**
   * Eviction, as upstream's kubelet does it: every container killed at once (no grace period),
   * the pod's local volumes freed (that is what the node was short of), and the pod left in the
   * API as Failed with reason Evicted and a DisruptionTarget condition, so its controller
   * replaces it and `kubectl get pods` shows why.
   */
  private async evictNow(pod: Pod, all: ContainerInfo[], message: string, eventAnnotations?: Record<string, string>) {
    const uid = pod.metadata.uid!;
    this.d.probes.forgetPod(uid);
    const running = all.filter((c) => c.state === "running");
    await Promise.all(running.filter((c) => kindOf(c) !== "pause").map((c) => this.d.runtime.stopContainer(c.id, 0)));
    for (const c of running.filter((c) => kindOf(c) === "pause")) await this.d.runtime.stopContainer(c.id, 0);
    removePodDir(podDir(this.cfg.dataDir, uid));
    this.refreshedAt.delete(uid);
    this.releaseSingleWriters(uid);
    const base = await this.terminalStatus(pod, await this.list(uid));
    const t = metaTimeNow(this.now());
    const conditions = [
      ...(base.conditions ?? []).filter((c) => c.type !== "DisruptionTarget"),
      { type: "DisruptionTarget", status: "True", reason: "TerminationByKubelet", message, lastProbeTime: null, lastTransitionTime: t },
    ];
    await this.writeStatus(pod, { ...base, phase: "Failed", reason: "Evicted", message, conditions });
    this.d.events.event(pod, "Warning", "Evicted", message, eventAnnotations);
  }

  /** Stops and removes every container of a pod and its directory (the pod is gone). */
  async removeAll(uid: string, all: ContainerInfo[], graceSeconds: number) {
    this.d.probes.forgetPod(uid);
    this.d.puller.forgetPod(uid);
    podGone(uid);
    const stopFirst = all.filter((c) => c.state === "running" && kindOf(c) !== "pause");
    await Promise.all(stopFirst.map((c) => this.d.runtime.stopContainer(c.id, Number(c.labels[LABELS.gracePeriod] ?? graceSeconds) > 0 ? graceSeconds : 0)));
    for (const c of all) await this.d.runtime.removeContainer(c.id);
    removePodDir(podDir(this.cfg.dataDir, uid));
    this.written.delete(uid);
    this.evicted.delete(uid);
    this.refreshedAt.delete(uid);
    this.releaseSingleWriters(uid);
    for (const k of this.tokens.keys()) if (k.startsWith(`${uid}|`)) this.tokens.delete(k);
  }

  /** Waits for background terminations (kubelet stop). */
  async drain() {
    await Promise.allSettled([...this.terminating.values()]);
  }

  private envContext(pass: Pass): EnvContext {
    return {
      pod: pass.pod,
      podIP: pass.podIP,
      hostIP: this.cfg.hostIP(),
      apiServerHost: this.cfg.apiServerHost,
      apiServerPort: this.cfg.apiServerPort,
      nodeCpuMillis: this.cfg.nodeCpuMillis,
      nodeMemoryBytes: this.cfg.nodeMemoryBytes,
    };
  }

  /** The pod's resolv.conf, written beside its volumes, unless a container mounts its own. */
  private resolvConfMount(pod: Pod, c: Container): Array<{ hostPath: string; containerPath: string; readOnly: boolean }> {
    const text = resolvConf(pod, this.cfg.clusterDns, this.cfg.clusterDomain);
    if (!text || c.volumeMounts?.some((m) => m.mountPath.replace(/\/+$/, "") === "/etc/resolv.conf")) return [];
    const path = join(podDir(this.cfg.dataDir, pod.metadata.uid!), "resolv.conf");
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text, { mode: 0o644 });
    return [{ hostPath: path, containerPath: "/etc/resolv.conf", readOnly: true }];
  }

  private volumeContext(pass: Pass): VolumeContext {
    const uid = pass.pod.metadata.uid!;
    const holdSingleWriter = (volume: string) => {
      const holder = this.singleWriters.get(volume);
      if (holder !== undefined && holder !== uid) {
        const waiting = this.singleWriterWaiters.get(volume) ?? new Set<string>();
        this.singleWriterWaiters.set(volume, waiting.add(uid));
        return false;
      }
      this.singleWriters.set(volume, uid);
      this.singleWriterWaiters.get(volume)?.delete(uid);
      return true;
    };
    return { ...this.envContext(pass), caCertPem: this.cfg.caCertPem, serviceAccountToken: (pod, audience, exp) => this.token(pod, audience, exp), mountTmpfs, holdSingleWriter };
  }

  /** The pod's containers are stopped: its ReadWriteOncePod volumes are free for another pod. */
  private releaseSingleWriters(uid: string) {
    for (const [volume, holder] of this.singleWriters) {
      if (holder !== uid) continue;
      this.singleWriters.delete(volume);
      // The pods waiting for it try again now rather than on their next retry.
      for (const waiter of this.singleWriterWaiters.get(volume) ?? []) this.d.enqueue(waiter);
      this.singleWriterWaiters.delete(volume);
    }
    for (const waiting of this.singleWriterWaiters.values()) waiting.delete(uid);
  }
}
