// Liveness, readiness and startup probes: one timer loop per probe of each running container.
// Results are kept here and read by the pod sync; a change re-queues the pod. Liveness and
// startup failures kill the container, and the restart policy decides what happens next.
import type { Pod } from "../../api/resources/core/pod";
import type { Container, Probe } from "../../api/resources/core/podspec.schema";
import type { ContainerRuntime } from "../runtime/runtime";
import { runAction } from "./handlers";

export type ProbeKind = "startup" | "liveness" | "readiness";

/** Counts consecutive results against the thresholds; the verdict flips only when one is reached. */
export class ProbeCounter {
  private successes = 0;
  private failures = 0;
  constructor(
    private readonly successThreshold: number,
    private readonly failureThreshold: number,
    public result: boolean | undefined,
  ) {}

  record(ok: boolean): boolean | undefined {
    if (ok) {
      this.failures = 0;
      if (++this.successes >= this.successThreshold) this.result = true;
    } else {
      this.successes = 0;
      if (++this.failures >= this.failureThreshold) this.result = false;
    }
    return this.result;
  }
}

export function probeTiming(p: Probe) {
  return {
    initialDelayMs: (p.initialDelaySeconds ?? 0) * 1000,
    periodMs: Math.max(1, p.periodSeconds ?? 10) * 1000,
    timeoutMs: Math.max(1, p.timeoutSeconds ?? 1) * 1000,
    successThreshold: Math.max(1, p.successThreshold ?? 1),
    failureThreshold: Math.max(1, p.failureThreshold ?? 3),
  };
}

interface Worker {
  stop(): void;
}

interface ContainerProbes {
  containerId: string;
  started: boolean;
  ready: boolean;
  workers: Worker[];
}

export interface ProbeHost {
  runtime: ContainerRuntime;
  onChange(podUid: string): void;
  /** Liveness or startup failed: the container must be killed (then restarted by policy). */
  onUnhealthy(podUid: string, containerId: string, kind: ProbeKind, message: string): void;
}

export class ProbeManager {
  private readonly byContainer = new Map<string, ContainerProbes>();
  private readonly byPod = new Map<string, Set<string>>();

  constructor(private readonly host: ProbeHost) {}

  /** Starts probing containers that just began running; stops probes of containers gone. */
  sync(pod: Pod, running: Array<{ container: Container; id: string }>, podIP: string | undefined) {
    const uid = pod.metadata.uid!;
    const keep = new Set(running.map((r) => r.id));
    const mine = this.byPod.get(uid) ?? new Set<string>();
    for (const id of mine) if (!keep.has(id)) this.forgetContainer(uid, id);
    for (const r of running) if (!this.byContainer.has(r.id)) this.start(uid, r.container, r.id, podIP);
  }

  /** Whether the container counts as started and ready (false for unknown containers). */
  state(containerId: string): { started: boolean; ready: boolean } {
    const p = this.byContainer.get(containerId);
    return p ? { started: p.started, ready: p.ready } : { started: false, ready: false };
  }

  forgetPod(uid: string) {
    for (const id of this.byPod.get(uid) ?? []) this.forgetContainer(uid, id);
    this.byPod.delete(uid);
  }

  stopAll() {
    for (const uid of [...this.byPod.keys()]) this.forgetPod(uid);
  }

  private forgetContainer(uid: string, id: string) {
    const p = this.byContainer.get(id);
    for (const w of p?.workers ?? []) w.stop();
    this.byContainer.delete(id);
    this.byPod.get(uid)?.delete(id);
  }

  private start(uid: string, container: Container, id: string, podIP: string | undefined) {
    const p: ContainerProbes = { containerId: id, started: !container.startupProbe, ready: !container.readinessProbe && !container.startupProbe, workers: [] };
    this.byContainer.set(id, p);
    if (!this.byPod.has(uid)) this.byPod.set(uid, new Set());
    this.byPod.get(uid)!.add(id);
    const changed = () => this.host.onChange(uid);
    const startLoops = () => {
      if (container.readinessProbe) {
        p.workers.push(
          this.loop(container, id, podIP, container.readinessProbe, false, (ok) => {
            if (ok !== undefined && ok !== p.ready) {
              p.ready = ok;
              changed();
            }
          }),
        );
      } else if (!p.ready) {
        p.ready = true;
        changed();
      }
      if (container.livenessProbe) {
        p.workers.push(
          this.loop(container, id, podIP, container.livenessProbe, true, (ok, msg) => {
            if (ok === false) this.host.onUnhealthy(uid, id, "liveness", msg ?? "");
          }),
        );
      }
    };
    if (container.startupProbe) {
      const w = this.loop(container, id, podIP, container.startupProbe, undefined, (ok, msg) => {
        if (ok === true && !p.started) {
          p.started = true;
          w.stop();
          startLoops();
          changed();
        } else if (ok === false) this.host.onUnhealthy(uid, id, "startup", msg ?? "");
      });
      p.workers.push(w);
    } else startLoops();
  }

  private loop(container: Container, id: string, podIP: string | undefined, probe: Probe, initial: boolean | undefined, report: (ok: boolean | undefined, message?: string) => void): Worker {
    const t = probeTiming(probe);
    const counter = new ProbeCounter(t.successThreshold, t.failureThreshold, initial);
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const tick = async () => {
      if (stopped) return;
      const r = await runAction(probe, { runtime: this.host.runtime, containerId: id, container, podIP }, t.timeoutMs);
      if (stopped) return;
      const verdict = counter.record(r.ok);
      report(verdict, r.message);
      // A failed liveness verdict ends this container; its replacement gets fresh probes.
      if (!stopped) timer = setTimeout(tick, t.periodMs);
    };
    timer = setTimeout(tick, t.initialDelayMs);
    return {
      stop() {
        stopped = true;
        clearTimeout(timer);
      },
    };
  }
}
