// The pod status the kubelet reports, computed from the pod, what the runtime shows for each
// container, and probe results. Pure: the same inputs give the same status, so a status is only
// written when something really changed. Phase rules follow upstream's getPhase.
import type { ContainerStatus, Pod, PodStatus } from "../../api/resources/core/pod";
import { metaTime } from "../node/conditions";
import type { ContainerInfo } from "../runtime/runtime";
import { attemptOf } from "./names";

type PodCondition = NonNullable<PodStatus["conditions"]>[number];
type State = NonNullable<ContainerStatus["state"]>;

export interface ContainerView {
  /** The container's runtime containers, newest attempt first. */
  attempts: ContainerInfo[];
  /** Why it is not running (ErrImagePull, CrashLoopBackOff, ...), when the kubelet knows. */
  waiting?: { reason: string; message?: string };
  ready: boolean;
  started: boolean;
  imageID?: string;
}

export interface StatusInput {
  pod: Pod;
  now: Date;
  /** "docker": container IDs are reported as docker://<id>. */
  runtimeName: string;
  sandboxReady: boolean;
  podIP?: string;
  hostIP?: string;
  init: Map<string, ContainerView>;
  app: Map<string, ContainerView>;
  /** Ephemeral containers (kubectl debug): reported, never counted for phase or readiness. */
  ephemeral?: Map<string, ContainerView>;
  /** The pod is being deleted and its containers have stopped: the phase becomes terminal. */
  terminal?: boolean;
}

export function terminatedState(c: ContainerInfo, runtimeName: string): State["terminated"] {
  const exitCode = c.exitCode ?? -1;
  return {
    exitCode,
    reason: c.oomKilled ? "OOMKilled" : exitCode === 0 ? "Completed" : "Error",
    ...(c.error ? { message: c.error } : {}),
    startedAt: c.startedAt ?? null,
    finishedAt: c.finishedAt ?? null,
    containerID: `${runtimeName}://${c.id}`,
  };
}

export function containerStatus(name: string, image: string, v: ContainerView | undefined, runtimeName: string, defaultWaiting: string): ContainerStatus {
  const [current, previous] = v?.attempts ?? [];
  const lastTerminated = (c: ContainerInfo | undefined) => (c?.state === "exited" ? { terminated: terminatedState(c, runtimeName) } : {});
  let state: State;
  let lastState: State = lastTerminated(previous);
  if (current?.state === "running") state = { running: { startedAt: current.startedAt ?? null } };
  else if (current?.state === "exited" && v?.waiting) {
    state = { waiting: v.waiting };
    lastState = lastTerminated(current);
  } else if (current?.state === "exited") state = { terminated: terminatedState(current, runtimeName) };
  else state = { waiting: v?.waiting ?? { reason: defaultWaiting } };
  return {
    name,
    state,
    lastState,
    ready: !!v?.ready && !!state.running,
    restartCount: current ? attemptOf(current) : 0,
    image,
    imageID: v?.imageID ?? "",
    ...(current ? { containerID: `${runtimeName}://${current.id}` } : {}),
    started: !!v?.started && !!state.running,
  };
}

/** Keeps a condition's lastTransitionTime while its status holds. */
function condition(pod: Pod, type: string, ok: boolean, now: string, reason?: string, message?: string): PodCondition {
  const status = ok ? "True" : "False";
  const before = pod.status?.conditions?.find((c) => c.type === type);
  const since = before?.status === status && before.lastTransitionTime ? before.lastTransitionTime : now;
  return { type, status, lastProbeTime: null, lastTransitionTime: since, ...(!ok && reason ? { reason } : {}), ...(!ok && message ? { message } : {}) };
}

const sidecarNames = (pod: Pod) => new Set((pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === "Always").map((c) => c.name));

/**
 * Whether an init container has done its part: exited 0, or for a sidecar (restartPolicy
 * Always) started — or the app containers exist already, so it did before.
 */
function initDoneFn(pod: Pod, app: ContainerStatus[]) {
  const sidecars = sidecarNames(pod);
  const appsMade = app.some((s) => s.containerID);
  return (s: ContainerStatus) => (sidecars.has(s.name) ? !!s.started || appsMade : s.state?.terminated?.exitCode === 0);
}

export function podPhase(pod: Pod, init: ContainerStatus[], app: ContainerStatus[]): string {
  const policy = pod.spec?.restartPolicy ?? "Always";
  if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return pod.status.phase;
  const initDone = initDoneFn(pod, app);
  if (!init.every(initDone)) {
    const sidecars = sidecarNames(pod);
    const failed = init.some((s) => !sidecars.has(s.name) && ((s.state?.terminated && s.state.terminated.exitCode !== 0) || (s.state?.waiting && s.lastState?.terminated)));
    return failed && policy === "Never" ? "Failed" : "Pending";
  }
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const s of app) {
    if (s.state?.running) running++;
    else if (s.state?.terminated) {
      stopped++;
      if (s.state.terminated.exitCode === 0) succeeded++;
    } else if (s.state?.waiting) {
      if (s.lastState?.terminated) stopped++;
      else waiting++;
    }
  }
  if (waiting > 0) return "Pending";
  if (running > 0) return "Running";
  if (stopped > 0) {
    if (policy === "Always") return "Running";
    if (stopped === succeeded) return "Succeeded";
    if (policy === "Never") return "Failed";
    return "Running";
  }
  return "Pending";
}

export function computePodStatus(input: StatusInput): PodStatus {
  const { pod, runtimeName } = input;
  const t = metaTime(input.now);
  const st = pod.status ?? {};
  const appsMade = [...input.app.values()].some((v) => v.attempts.length > 0);
  const initDoneAll = (pod.spec?.initContainers ?? []).every((c) => {
    const v = input.init.get(c.name);
    if (c.restartPolicy === "Always") return appsMade || (v?.started && v.attempts[0]?.state === "running");
    return v?.attempts[0]?.exitCode === 0 && v.attempts[0]?.state === "exited";
  });
  const initContainerStatuses = (pod.spec?.initContainers ?? []).map((c) => containerStatus(c.name, c.image ?? "", input.init.get(c.name), runtimeName, "PodInitializing"));
  const containerStatuses = (pod.spec?.containers ?? []).map((c) =>
    containerStatus(c.name, c.image ?? "", input.app.get(c.name), runtimeName, initDoneAll ? "ContainerCreating" : "PodInitializing"),
  );
  let phase = podPhase(pod, initContainerStatuses, containerStatuses);
  if (input.terminal && phase !== "Succeeded" && phase !== "Failed") {
    phase = containerStatuses.length && containerStatuses.every((s) => s.state?.terminated?.exitCode === 0) ? "Succeeded" : "Failed";
  }
  const terminal = phase === "Succeeded" || phase === "Failed";
  const initDone = initDoneFn(pod, containerStatuses);
  const incompleteInit = initContainerStatuses.filter((s) => !initDone(s)).map((s) => s.name);
  // Sidecars count for readiness like app containers (as upstream).
  const sidecars = sidecarNames(pod);
  const unready = [...initContainerStatuses.filter((s) => sidecars.has(s.name)), ...containerStatuses].filter((s) => !s.ready).map((s) => s.name);
  const containersReady = unready.length === 0 && !terminal;
  const notReadyReason = terminal ? "PodCompleted" : "ContainersNotReady";
  const notReadyMessage = terminal ? undefined : `containers with unready status: [${unready.join(" ")}]`;
  const scheduled = st.conditions?.find((c) => c.type === "PodScheduled") ?? { type: "PodScheduled", status: "True", lastProbeTime: null, lastTransitionTime: t };
  const status: PodStatus = {
    ...st,
    phase,
    conditions: [
      condition(pod, "PodReadyToStartContainers", input.sandboxReady, t),
      condition(pod, "Initialized", incompleteInit.length === 0 || terminal, t, "ContainersNotInitialized", `containers with incomplete status: [${incompleteInit.join(" ")}]`),
      condition(pod, "Ready", containersReady, t, notReadyReason, notReadyMessage),
      condition(pod, "ContainersReady", containersReady, t, notReadyReason, notReadyMessage),
      scheduled,
    ],
    startTime: st.startTime ?? t,
    containerStatuses,
  };
  if (initContainerStatuses.length) status.initContainerStatuses = initContainerStatuses;
  const ephemeral = pod.spec?.ephemeralContainers ?? [];
  if (ephemeral.length) status.ephemeralContainerStatuses = ephemeral.map((c) => containerStatus(c.name, c.image ?? "", input.ephemeral?.get(c.name), runtimeName, "ContainerCreating"));
  if (input.hostIP) {
    status.hostIP = input.hostIP;
    status.hostIPs = [{ ip: input.hostIP }];
  }
  if (input.podIP) {
    status.podIP = input.podIP;
    status.podIPs = [{ ip: input.podIP }];
  }
  return status;
}

/** Key-order-insensitive equality, so a status that only differs in key order is not rewritten. */
export function sameStatus(a: unknown, b: unknown): boolean {
  return stable(a) === stable(b);
}

function stable(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stable).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}
