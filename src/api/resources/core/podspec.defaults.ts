// Upstream's SetDefaults_PodSpec / SetDefaults_Container / SetDefaults_Probe / SetDefaults_Volume,
// shared by pods and workload templates, plus the pod-only SetDefaults_Pod and QoS class.
import type { Container, PodSpec, Probe, Volume } from "./podspec.schema";
import { tryParseQuantity } from "../../quantity";
import { VOLUME_SOURCES } from "./podspec.schema";

/** SetDefaults_Container's imagePullPolicy: Always for ":latest" or no tag, else IfNotPresent. */
export function defaultImagePullPolicy(image: string | undefined): "Always" | "IfNotPresent" {
  return imageTag(image ?? "") === "latest" ? "Always" : "IfNotPresent";
}

/** The tag of an image reference as upstream's parsers.ParseImageName sees it ("" with a digest). */
export function imageTag(image: string): string {
  const at = image.indexOf("@");
  const name = at >= 0 ? image.slice(0, at) : image;
  const lastSegment = name.slice(name.lastIndexOf("/") + 1);
  const colon = lastSegment.lastIndexOf(":");
  if (colon >= 0) return lastSegment.slice(colon + 1);
  return at >= 0 ? "" : "latest";
}

function defaultHandler(h: { httpGet?: { path?: string; scheme?: string } } | undefined) {
  if (!h?.httpGet) return;
  h.httpGet.path ??= "/";
  h.httpGet.scheme ??= "HTTP";
}

export function defaultProbe(p: Probe | undefined) {
  if (!p) return;
  p.timeoutSeconds ??= 1;
  p.periodSeconds ??= 10;
  p.successThreshold ??= 1;
  p.failureThreshold ??= 3;
  defaultHandler(p);
}

export function defaultContainer(c: Container) {
  c.imagePullPolicy ??= defaultImagePullPolicy(c.image);
  c.terminationMessagePath ??= "/dev/termination-log";
  c.terminationMessagePolicy ??= "File";
  // Upstream always serializes resources (a non-pointer struct); clients such as `kubectl
  // rollout undo` send `resources: {}` back, so the stored form must already have it.
  c.resources ??= {};
  for (const p of c.ports ?? []) p.protocol ??= "TCP";
  for (const e of c.env ?? []) if (e.valueFrom?.fieldRef) e.valueFrom.fieldRef.apiVersion ??= "v1";
  defaultProbe(c.livenessProbe);
  defaultProbe(c.readinessProbe);
  defaultProbe(c.startupProbe);
  defaultHandler(c.lifecycle?.postStart);
  defaultHandler(c.lifecycle?.preStop);
}

const DEFAULT_MODE = 0o644;

export function defaultVolume(v: Volume) {
  const rec = v as Record<string, unknown>;
  if (!VOLUME_SOURCES.some((k) => rec[k] !== undefined)) v.emptyDir = {};
  if (v.hostPath) v.hostPath.type ??= "";
  if (v.secret) v.secret.defaultMode ??= DEFAULT_MODE;
  if (v.configMap) v.configMap.defaultMode ??= DEFAULT_MODE;
  if (v.downwardAPI) {
    v.downwardAPI.defaultMode ??= DEFAULT_MODE;
    for (const i of v.downwardAPI.items ?? []) if (i.fieldRef) i.fieldRef.apiVersion ??= "v1";
  }
  if (v.projected) {
    v.projected.defaultMode ??= DEFAULT_MODE;
    for (const s of v.projected.sources ?? []) {
      if (s.serviceAccountToken) s.serviceAccountToken.expirationSeconds ??= 3600;
      for (const i of s.downwardAPI?.items ?? []) if (i.fieldRef) i.fieldRef.apiVersion ??= "v1";
    }
  }
}

/** SetDefaults_PodSpec and everything below it; used for pods and for workload templates alike. */
export function defaultPodSpec(spec: PodSpec | undefined) {
  if (!spec) return;
  spec.dnsPolicy ??= "ClusterFirst";
  spec.restartPolicy ??= "Always";
  spec.securityContext ??= {};
  spec.terminationGracePeriodSeconds ??= 30;
  spec.schedulerName ??= "default-scheduler";
  // v1 conversion keeps the deprecated serviceAccount alias equal to serviceAccountName.
  if (!spec.serviceAccountName && spec.serviceAccount) spec.serviceAccountName = spec.serviceAccount;
  if (spec.serviceAccountName) spec.serviceAccount = spec.serviceAccountName;
  for (const c of spec.initContainers ?? []) defaultContainer(c);
  for (const c of spec.containers ?? []) defaultContainer(c);
  for (const c of spec.ephemeralContainers ?? []) defaultContainer(c as Container);
  for (const v of spec.volumes ?? []) defaultVolume(v);
}

/** SetDefaults_Pod: only for Pod objects, not for templates (as upstream). */
export function defaultPodOnly(spec: PodSpec) {
  spec.enableServiceLinks ??= true;
  for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])]) {
    const limits = c.resources?.limits;
    if (!limits) continue;
    const requests = (c.resources!.requests ??= {});
    for (const [k, v] of Object.entries(limits)) if (!(k in requests)) requests[k] = v;
  }
  if (spec.hostNetwork)
    for (const c of [...(spec.initContainers ?? []), ...(spec.containers ?? [])])
      for (const p of c.ports ?? []) p.hostPort ??= p.containerPort;
}

/** Upstream's ComputePodQOS over cpu and memory. */
export function podQOSClass(spec: PodSpec): "Guaranteed" | "Burstable" | "BestEffort" {
  const all = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  const qosResources = ["cpu", "memory"];
  let any = false;
  let guaranteed = true;
  for (const c of all) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    for (const r of qosResources) {
      const rq = tryParseQuantity(req[r])?.nano;
      const lq = tryParseQuantity(lim[r])?.nano;
      if ((rq ?? 0n) > 0n || (lq ?? 0n) > 0n) any = true;
      if (lq === undefined || lq === 0n) guaranteed = false;
      else if (rq !== undefined && rq !== lq) guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}
