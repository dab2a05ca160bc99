import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { PartialWrite, ResourceDef } from "../../resource";
import { MergeList, Obj, Opaque, Quantity, TopLevel } from "../../schema";
import { age, ageColumn, column, humanDuration, nameColumn } from "../../table";
import { fieldForbidden } from "../../validation";
import { Conditions, Int32, Int64, jsonEqual, NullableTime } from "../common";
import { defaultPodOnly, defaultPodSpec, podQOSClass } from "./podspec.defaults";
import { PodSpecSchema, type PodSpec } from "./podspec.schema";
import { validatePodSpec } from "./podspec.validate";

const Str = () => Type.String();
const Opt = Type.Optional;

export const ContainerStateSchema = Obj({
  waiting: Opt(Obj({ reason: Opt(Str()), message: Opt(Str()) })),
  running: Opt(Obj({ startedAt: Opt(NullableTime) })),
  terminated: Opt(
    Obj({
      exitCode: Int32(),
      signal: Opt(Int32()),
      reason: Opt(Str()),
      message: Opt(Str()),
      startedAt: Opt(NullableTime),
      finishedAt: Opt(NullableTime),
      containerID: Opt(Str()),
    }),
  ),
});

export const ContainerStatusSchema = Obj({
  name: Str(),
  state: Opt(ContainerStateSchema),
  lastState: Opt(ContainerStateSchema),
  ready: Opt(Type.Boolean()),
  restartCount: Opt(Int32()),
  image: Opt(Str()),
  imageID: Opt(Str()),
  containerID: Opt(Str()),
  started: Opt(Type.Boolean()),
  allocatedResources: Opt(Type.Record(Str(), Quantity)),
  resources: Opt(Opaque("ResourceRequirements the runtime reports for the container.")),
  volumeMounts: Opt(Type.Array(Opaque("VolumeMountStatus"))),
  user: Opt(Opaque("ContainerUser")),
  allocatedResourcesStatus: Opt(Type.Array(Opaque("ResourceStatus"))),
  stopSignal: Opt(Str()),
});

export const PodConditionSchema = Obj({
  type: Str(),
  status: Str(),
  observedGeneration: Opt(Int64()),
  lastProbeTime: Opt(NullableTime),
  lastTransitionTime: Opt(NullableTime),
  reason: Opt(Str()),
  message: Opt(Str()),
});

const PodIP = Obj({ ip: Str() });

export const PodStatusSchema = Obj({
  observedGeneration: Opt(Int64()),
  phase: Opt(Str()),
  conditions: Opt(Conditions(PodConditionSchema)),
  message: Opt(Str()),
  reason: Opt(Str()),
  nominatedNodeName: Opt(Str()),
  hostIP: Opt(Str()),
  hostIPs: Opt(MergeList(PodIP, "ip")),
  podIP: Opt(Str()),
  podIPs: Opt(MergeList(PodIP, "ip")),
  startTime: Opt(NullableTime),
  initContainerStatuses: Opt(Type.Array(ContainerStatusSchema)),
  containerStatuses: Opt(Type.Array(ContainerStatusSchema)),
  ephemeralContainerStatuses: Opt(Type.Array(ContainerStatusSchema)),
  qosClass: Opt(Str()),
  resize: Opt(Str()),
  resourceClaimStatuses: Opt(Type.Array(Opaque("PodResourceClaimStatus"))),
  extendedResourceClaimStatus: Opt(Opaque("PodExtendedResourceClaimStatus")),
});

export const PodSchema = TopLevel(
  { spec: Opt(PodSpecSchema), status: Opt(PodStatusSchema) },
  "Pod is a collection of containers that can run on a host.",
);

export type PodStatus = Static<typeof PodStatusSchema>;
export type ContainerStatus = Static<typeof ContainerStatusSchema>;
export type Pod = Static<typeof PodSchema> & KubeObject;

// ---------------------------------------------------------------------------------------------
// The STATUS and RESTARTS columns, computed like upstream's printPod.

const terminalPhase = (phase: string | undefined) => phase === "Succeeded" || phase === "Failed";
const isAfter = (a: string | null | undefined, b: string | null | undefined) =>
  !!a && (!b || Date.parse(a) > Date.parse(b));

export interface PodSummary {
  ready: string;
  status: string;
  restarts: string;
}

export function podSummary(pod: Pod, now: Date): PodSummary {
  const spec = pod.spec ?? ({ containers: [] } as PodSpec);
  const st = pod.status ?? {};
  let restarts = 0;
  let sidecarRestarts = 0;
  let totalContainers = (spec.containers ?? []).length;
  let readyContainers = 0;
  let lastRestart: string | undefined;
  let lastSidecarRestart: string | undefined;

  let reason = st.reason || st.phase || "";
  for (const c of st.conditions ?? []) if (c.type === "PodScheduled" && c.reason === "SchedulingGated") reason = "SchedulingGated";

  const sidecars = new Set<string>();
  for (const c of spec.initContainers ?? []) {
    if (c.restartPolicy === "Always") {
      sidecars.add(c.name);
      totalContainers++;
    }
  }

  let initializing = false;
  const initStatuses = st.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    restarts += c.restartCount ?? 0;
    const finished = c.lastState?.terminated?.finishedAt;
    if (isAfter(finished, lastRestart)) lastRestart = finished!;
    if (sidecars.has(c.name)) {
      sidecarRestarts += c.restartCount ?? 0;
      if (isAfter(finished, lastSidecarRestart)) lastSidecarRestart = finished!;
    }
    const term = c.state?.terminated;
    const waiting = c.state?.waiting;
    if (term && term.exitCode === 0) continue;
    if (sidecars.has(c.name) && c.started) {
      if (c.ready) readyContainers++;
      continue;
    }
    if (term) {
      reason = term.reason ? `Init:${term.reason}` : term.signal ? `Init:Signal:${term.signal}` : `Init:ExitCode:${term.exitCode}`;
    } else if (waiting?.reason && waiting.reason !== "PodInitializing") {
      reason = `Init:${waiting.reason}`;
    } else {
      reason = `Init:${i}/${(spec.initContainers ?? []).length}`;
    }
    initializing = true;
    break;
  }

  const initializedTrue = (st.conditions ?? []).some((c) => c.type === "Initialized" && c.status === "True");
  if (!initializing || initializedTrue) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = st.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      restarts += c.restartCount ?? 0;
      const finished = c.lastState?.terminated?.finishedAt;
      if (isAfter(finished, lastRestart)) lastRestart = finished!;
      const waiting = c.state?.waiting;
      const term = c.state?.terminated;
      if (waiting?.reason) reason = waiting.reason;
      else if (term?.reason) reason = term.reason;
      else if (term) reason = term.signal ? `Signal:${term.signal}` : `ExitCode:${term.exitCode}`;
      else if (c.ready && c.state?.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    if (reason === "Completed" && hasRunning) {
      const podReady = (st.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True");
      reason = podReady ? "Running" : "NotReady";
    }
  }

  if (pod.metadata.deletionTimestamp && st.reason === "NodeLost") reason = "Unknown";
  else if (pod.metadata.deletionTimestamp && !terminalPhase(st.phase)) reason = "Terminating";

  let restartsStr = String(restarts);
  if (restarts !== 0 && lastRestart) restartsStr = `${restarts} (${humanDuration(now.getTime() - Date.parse(lastRestart))} ago)`;

  return { ready: `${readyContainers}/${totalContainers}`, status: reason, restarts: restartsStr };
}

function readinessGates(pod: Pod): string {
  const gates = pod.spec?.readinessGates ?? [];
  if (gates.length === 0) return "<none>";
  let trueCount = 0;
  for (const g of gates) {
    const c = (pod.status?.conditions ?? []).find((c) => c.type === g.conditionType);
    if (c?.status === "True") trueCount++;
  }
  return `${trueCount}/${gates.length}`;
}

// ---------------------------------------------------------------------------------------------
// Updates: upstream only lets a few pod spec fields change after creation.

const POD_UPDATE_MESSAGE =
  "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

function podSpecImmutable(spec: PodSpec | undefined, old: PodSpec | undefined): FieldError[] {
  if (!spec || !old) return [];
  const a = structuredClone(spec) as PodSpec;
  const b = structuredClone(old) as PodSpec;
  // Mutable fields: copy the new values over the old ones and compare the rest.
  for (const kind of ["containers", "initContainers"] as const) {
    const na = a[kind] ?? [];
    const nb = b[kind] ?? [];
    if (na.length === nb.length) na.forEach((c, i) => (nb[i].image = c.image));
  }
  b.activeDeadlineSeconds = a.activeDeadlineSeconds;
  b.terminationGracePeriodSeconds = a.terminationGracePeriodSeconds;
  const oldTolerations = old.tolerations ?? [];
  const newTolerations = spec.tolerations ?? [];
  if (oldTolerations.every((t) => newTolerations.some((n) => jsonEqual(n, t)))) b.tolerations = a.tolerations;
  // Scheduling gates may only be removed.
  if ((a.schedulingGates ?? []).every((g) => (b.schedulingGates ?? []).some((o) => o.name === g.name))) b.schedulingGates = a.schedulingGates;
  // The binding subresource sets nodeName once; tolerate it arriving through an update too.
  if (!b.nodeName) b.nodeName = a.nodeName;
  // Left out, priority and preemptionPolicy keep the values set at create (the Priority admission plugin restores them).
  if (a.priority === undefined) a.priority = b.priority;
  if (a.preemptionPolicy === undefined) a.preemptionPolicy = b.preemptionPolicy;
  return jsonEqual(a, b) ? [] : [fieldForbidden("spec", POD_UPDATE_MESSAGE)];
}

// ---------------------------------------------------------------------------------------------
// pods/ephemeralcontainers: the one way to add ephemeral containers (kubectl debug). Only
// spec.ephemeralContainers is taken from the request; ones already there stay as they are.

type EphemeralContainers = NonNullable<PodSpec["ephemeralContainers"]>;

function ephemeralContainersUpdate(pod: Pod, old: Pod): FieldError[] {
  const errs: FieldError[] = [];
  const now = new Map((pod.spec?.ephemeralContainers ?? []).map((c) => [c.name, c]));
  for (const was of old.spec?.ephemeralContainers ?? []) {
    const is = now.get(was.name);
    if (!is) errs.push(fieldForbidden("spec.ephemeralContainers", `existing ephemeral containers "${was.name}" may not be removed`));
    else if (!jsonEqual(is, was)) errs.push(fieldForbidden(`spec.ephemeralContainers[${was.name}]`, `existing ephemeral containers "${was.name}" may not be changed`));
  }
  return errs;
}

const ephemeralContainersWrite: PartialWrite<Pod> = {
  merge(old, obj) {
    const next = old;
    const sent = obj.spec?.ephemeralContainers as EphemeralContainers | undefined;
    if (next.spec) {
      if (sent?.length) next.spec.ephemeralContainers = sent;
      else delete next.spec.ephemeralContainers;
    }
    return next;
  },
  validateUpdate: ephemeralContainersUpdate,
};

export const pods: ResourceDef<Pod> = {
  ...KINDS.pods,
  schema: PodSchema,
  subresources: ["status", "binding", "eviction", "log", "exec", "attach", "portforward", "proxy", "ephemeralcontainers"],
  hasStatus: true,
  defaults(pod) {
    if (!pod.spec) return;
    defaultPodSpec(pod.spec);
    defaultPodOnly(pod.spec);
    pod.status ??= {};
    pod.status.phase ??= "Pending";
    pod.status.qosClass ??= podQOSClass(pod.spec);
  },
  validate(pod, old) {
    const errs = validatePodSpec(pod.spec, "spec");
    // Ephemeral containers come only through pods/ephemeralcontainers, never with the pod.
    if (!old && pod.spec?.ephemeralContainers?.length) errs.push(fieldForbidden("spec.ephemeralContainers", "cannot be set on create"));
    return errs;
  },
  immutable: (pod, old) => podSpecImmutable(pod.spec, old.spec),
  partialWrites: { ephemeralcontainers: ephemeralContainersWrite },
  // A pod on a node is stopped by that node's agent, which then deletes it; until then it is
  // "Terminating". Pods never scheduled, or already finished, go at once (as upstream).
  deletionGracePeriod(pod, requested) {
    const phase = pod.status?.phase;
    if (!pod.spec?.nodeName || phase === "Succeeded" || phase === "Failed") return 0;
    return requested ?? pod.spec.terminationGracePeriodSeconds ?? 30;
  },
  table: {
    columns: [
      nameColumn,
      column("Ready", "The aggregate readiness state of this pod for accepting traffic."),
      column("Status", "The aggregate status of the containers in this pod."),
      column("Restarts", "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."),
      ageColumn,
      column("IP", "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.", 1),
      column("Node", "NodeName indicates in which node this pod is scheduled.", 1),
      column("Nominated Node", "nominatedNodeName is set when this pod preempts other pods on the node.", 1),
      column("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.", 1),
    ],
    row(pod, now) {
      const s = podSummary(pod, now);
      return [
        pod.metadata.name,
        s.ready,
        s.status,
        s.restarts,
        age(pod.metadata.creationTimestamp, now),
        pod.status?.podIPs?.[0]?.ip || pod.status?.podIP || "<none>",
        pod.spec?.nodeName || "<none>",
        pod.status?.nominatedNodeName || "<none>",
        readinessGates(pod),
      ];
    },
  },
  fieldSelectors: {
    "spec.nodeName": (p) => p.spec?.nodeName ?? "",
    "spec.restartPolicy": (p) => p.spec?.restartPolicy ?? "",
    "spec.schedulerName": (p) => p.spec?.schedulerName ?? "",
    "spec.serviceAccountName": (p) => p.spec?.serviceAccountName ?? "",
    "spec.hostNetwork": (p) => String(!!p.spec?.hostNetwork),
    "status.phase": (p) => p.status?.phase ?? "",
    "status.podIP": (p) => p.status?.podIP ?? "",
    "status.nominatedNodeName": (p) => p.status?.nominatedNodeName ?? "",
  },
};
