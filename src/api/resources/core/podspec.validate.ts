// Semantic validation of a PodSpec (ValidatePodSpec and friends in upstream's
// pkg/apis/core/validation), with upstream's field paths and messages. Used for pods and for
// the templates of workloads.
import type { FieldError } from "../../errors";
import {
  fieldDuplicate,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  isConfigMapKey,
  isDns1123Label,
  isDns1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
  isValidPortName,
  validateAnnotations,
  validateLabels,
  validateLabelSelector,
} from "../../validation";
import { compareQuantities, tryParseQuantity, type Quantity } from "../../quantity";
import { isIP } from "../../ip";
import { nonNegative, QUANTITY_MESSAGE } from "../common";
import {
  VOLUME_SOURCES,
  type Affinity,
  type Container,
  type ContainerPort,
  type PodSpec,
  type PodTemplateSpec,
  type Probe,
  type Toleration,
  type Volume,
} from "./podspec.schema";

const each = (field: string, value: unknown, msgs: string[]) => msgs.map((m) => fieldInvalid(field, value, m));

const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const PULL_POLICIES = ["Always", "IfNotPresent", "Never"];
const RESTART_POLICIES = ["Always", "OnFailure", "Never"];
const DNS_POLICIES = ["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"];
const TERMINATION_MESSAGE_POLICIES = ["File", "FallbackToLogsOnError"];
const TAINT_EFFECTS = ["NoSchedule", "PreferNoSchedule", "NoExecute"];
const NODE_SELECTOR_OPS = ["DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"];
const FIELD_REF_PATHS = [
  "metadata.annotations",
  "metadata.labels",
  "metadata.name",
  "metadata.namespace",
  "metadata.uid",
  "spec.nodeName",
  "spec.serviceAccountName",
  "status.hostIP",
  "status.hostIPs",
  "status.podIP",
  "status.podIPs",
];
const RESOURCE_FIELD_REFS = [
  "limits.cpu",
  "limits.ephemeral-storage",
  "limits.memory",
  "requests.cpu",
  "requests.ephemeral-storage",
  "requests.memory",
];

export interface PodSpecContext {
  /** Labels/annotations of the pod (or template) for downward API checks; unused for now. */
  template?: boolean;
}

/** Validates a port given as a number or a IANA_SVC_NAME (probes, service targetPort). */
export function validatePortNumOrName(port: number | string | undefined, path: string): FieldError[] {
  if (port === undefined) return [fieldRequired(path)];
  if (typeof port === "number")
    return port >= 1 && port <= 65535 ? [] : [fieldInvalid(path, port, "must be between 1 and 65535, inclusive")];
  if (/^[0-9]+$/.test(port)) return [fieldInvalid(path, port, "must contain at least one letter or number (a-z, 0-9)")];
  return each(path, port, isValidPortName(port));
}

function validateHandler(h: Record<string, unknown> | undefined, path: string, kinds: string[]): FieldError[] {
  if (!h) return [];
  const set = kinds.filter((k) => h[k] !== undefined && h[k] !== null);
  const errs: FieldError[] = [];
  if (set.length === 0) errs.push(fieldRequired(path, "must specify a handler type"));
  else if (set.length > 1) errs.push(fieldForbidden(`${path}.${set[1]}`, "may not specify more than 1 handler type"));
  const httpGet = h.httpGet as { port?: number | string; scheme?: string; path?: string } | undefined;
  if (httpGet) {
    errs.push(...validatePortNumOrName(httpGet.port, `${path}.httpGet.port`));
    if (httpGet.scheme !== undefined && !["HTTP", "HTTPS"].includes(httpGet.scheme))
      errs.push(fieldNotSupported(`${path}.httpGet.scheme`, httpGet.scheme, ["HTTP", "HTTPS"]));
  }
  const tcp = h.tcpSocket as { port?: number | string } | undefined;
  if (tcp) errs.push(...validatePortNumOrName(tcp.port, `${path}.tcpSocket.port`));
  const grpc = h.grpc as { port?: number } | undefined;
  if (grpc) errs.push(...validatePortNumOrName(grpc.port, `${path}.grpc.port`));
  const exec = h.exec as { command?: string[] } | undefined;
  if (exec && !(exec.command ?? []).length) errs.push(fieldRequired(`${path}.exec.command`));
  const sleep = h.sleep as { seconds?: number } | undefined;
  if (sleep) errs.push(...nonNegative(sleep.seconds, `${path}.sleep.seconds`));
  return errs;
}

function validateProbe(p: Probe | undefined, path: string, mustSucceedOnce: boolean): FieldError[] {
  if (!p) return [];
  const errs = validateHandler(p as Record<string, unknown>, path, ["exec", "httpGet", "tcpSocket", "grpc"]);
  for (const f of ["initialDelaySeconds", "timeoutSeconds", "periodSeconds", "successThreshold", "failureThreshold"] as const)
    errs.push(...nonNegative(p[f], `${path}.${f}`));
  if (p.terminationGracePeriodSeconds !== undefined && p.terminationGracePeriodSeconds <= 0)
    errs.push(fieldInvalid(`${path}.terminationGracePeriodSeconds`, p.terminationGracePeriodSeconds, "must be greater than 0"));
  if (mustSucceedOnce && p.successThreshold !== undefined && p.successThreshold !== 1)
    errs.push(fieldInvalid(`${path}.successThreshold`, p.successThreshold, "must be 1"));
  return errs;
}

function validatePorts(ports: ContainerPort[] | undefined, path: string, hostNetwork: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  (ports ?? []).forEach((port, i) => {
    const p = `${path}[${i}]`;
    if (port.name) {
      errs.push(...each(`${p}.name`, port.name, isValidPortName(port.name)));
      if (names.has(port.name)) errs.push(fieldDuplicate(`${p}.name`, port.name));
      names.add(port.name);
    }
    if (!port.containerPort) errs.push(fieldRequired(`${p}.containerPort`));
    else if (port.containerPort < 1 || port.containerPort > 65535)
      errs.push(fieldInvalid(`${p}.containerPort`, port.containerPort, "must be between 1 and 65535, inclusive"));
    if (port.hostPort) {
      if (port.hostPort < 1 || port.hostPort > 65535)
        errs.push(fieldInvalid(`${p}.hostPort`, port.hostPort, "must be between 1 and 65535, inclusive"));
      if (hostNetwork && port.hostPort !== port.containerPort)
        errs.push(fieldInvalid(`${p}.hostPort`, port.hostPort, "must match `containerPort` when `hostNetwork` is true"));
    }
    if (port.protocol === undefined || port.protocol === "") errs.push(fieldRequired(`${p}.protocol`));
    else if (!PROTOCOLS.includes(port.protocol)) errs.push(fieldNotSupported(`${p}.protocol`, port.protocol, PROTOCOLS));
    if (port.hostIP && !isIP(port.hostIP))
      errs.push(fieldInvalid(`${p}.hostIP`, port.hostIP, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"));
  });
  return errs;
}

const ENV_NAME_MESSAGE = "a valid environment variable name must consist only of printable ASCII characters other than '='";

function validateEnv(env: Container["env"], path: string): FieldError[] {
  const errs: FieldError[] = [];
  (env ?? []).forEach((e, i) => {
    const p = `${path}[${i}]`;
    if (!e.name) errs.push(fieldRequired(`${p}.name`));
    else if (!/^[\x20-\x3c\x3e-\x7e]+$/.test(e.name)) errs.push(fieldInvalid(`${p}.name`, e.name, ENV_NAME_MESSAGE));
    const vf = e.valueFrom;
    if (!vf) return;
    const sources = (["fieldRef", "resourceFieldRef", "configMapKeyRef", "secretKeyRef", "fileKeyRef"] as const).filter((k) => vf[k]);
    if (e.value) errs.push(fieldInvalid(`${p}.valueFrom`, "", "may not be specified when `value` is not empty"));
    if (sources.length === 0)
      errs.push(fieldInvalid(`${p}.valueFrom`, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"));
    else if (sources.length > 1) errs.push(fieldInvalid(`${p}.valueFrom`, "", "may not have more than one field specified at a time"));
    if (vf.fieldRef) errs.push(...validateFieldRef(vf.fieldRef, `${p}.valueFrom.fieldRef`));
    if (vf.resourceFieldRef) {
      const r = vf.resourceFieldRef.resource;
      if (!r) errs.push(fieldRequired(`${p}.valueFrom.resourceFieldRef.resource`));
      else if (!RESOURCE_FIELD_REFS.includes(r) && !/^(limits|requests)\.hugepages-/.test(r))
        errs.push(fieldNotSupported(`${p}.valueFrom.resourceFieldRef.resource`, r, RESOURCE_FIELD_REFS));
    }
    for (const k of ["configMapKeyRef", "secretKeyRef"] as const) {
      const ref = vf[k];
      if (!ref) continue;
      if (!ref.key) errs.push(fieldRequired(`${p}.valueFrom.${k}.key`));
      else errs.push(...each(`${p}.valueFrom.${k}.key`, ref.key, isConfigMapKey(ref.key)));
    }
  });
  return errs;
}

function validateFieldRef(ref: { apiVersion?: string; fieldPath: string }, path: string): FieldError[] {
  if (!ref.fieldPath) return [fieldRequired(`${path}.fieldPath`)];
  if (ref.apiVersion && ref.apiVersion !== "v1")
    return [fieldNotSupported(`${path}.apiVersion`, ref.apiVersion, ["v1"])];
  const m = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(ref.fieldPath);
  if (m) return each(`${path}.fieldPath`, m[2], isQualifiedName(m[2]));
  if (!FIELD_REF_PATHS.includes(ref.fieldPath)) return [fieldNotSupported(`${path}.fieldPath`, ref.fieldPath, FIELD_REF_PATHS)];
  return [];
}

function validateResources(res: Container["resources"], path: string): FieldError[] {
  if (!res) return [];
  const errs: FieldError[] = [];
  const parsed: Record<"limits" | "requests", Record<string, Quantity>> = { limits: {}, requests: {} };
  for (const kind of ["limits", "requests"] as const) {
    for (const [name, q] of Object.entries(res[kind] ?? {})) {
      const p = `${path}.${kind}[${name}]`;
      errs.push(...each(p, name, isQualifiedName(name)));
      const n = tryParseQuantity(q);
      if (n === undefined) errs.push(fieldInvalid(p, q, QUANTITY_MESSAGE));
      else if (n.nano < 0n) errs.push(fieldInvalid(p, q, "must be greater than or equal to 0"));
      else parsed[kind][name] = n;
    }
  }
  for (const [name, req] of Object.entries(parsed.requests)) {
    const lim = parsed.limits[name];
    if (lim !== undefined && compareQuantities(req, lim) > 0)
      errs.push(fieldInvalid(`${path}.requests`, String(res.requests![name]), `must be less than or equal to ${name} limit of ${res.limits![name]}`));
  }
  return errs;
}

type ContainerKind = "containers" | "initContainers" | "ephemeralContainers";

function validateContainer(c: Container, path: string, kind: ContainerKind, volumes: Set<string>, spec: PodSpec): FieldError[] {
  const errs: FieldError[] = [];
  if (!c.name) errs.push(fieldRequired(`${path}.name`));
  else errs.push(...each(`${path}.name`, c.name, isDns1123Label(c.name)));
  if (!c.image) errs.push(fieldRequired(`${path}.image`));
  else if (c.image.trim() !== c.image) errs.push(fieldInvalid(`${path}.image`, c.image, "must not have leading or trailing whitespace"));
  if (c.imagePullPolicy !== undefined && !PULL_POLICIES.includes(c.imagePullPolicy))
    errs.push(fieldNotSupported(`${path}.imagePullPolicy`, c.imagePullPolicy, PULL_POLICIES));
  if (c.terminationMessagePolicy !== undefined && !TERMINATION_MESSAGE_POLICIES.includes(c.terminationMessagePolicy))
    errs.push(fieldNotSupported(`${path}.terminationMessagePolicy`, c.terminationMessagePolicy, TERMINATION_MESSAGE_POLICIES));

  const sidecar = kind === "initContainers" && c.restartPolicy === "Always";
  if (c.restartPolicy !== undefined) {
    if (kind === "initContainers") {
      if (c.restartPolicy !== "Always") errs.push(fieldNotSupported(`${path}.restartPolicy`, c.restartPolicy, ["Always"]));
    } else {
      errs.push(fieldForbidden(`${path}.restartPolicy`, "may not be set for non-init containers"));
    }
  }
  if (kind === "initContainers" && !sidecar) {
    for (const f of ["lifecycle", "livenessProbe", "readinessProbe", "startupProbe"] as const)
      if (c[f]) errs.push(fieldForbidden(`${path}.${f}`, "may not be set for init containers without restartPolicy=Always"));
  } else if (kind === "ephemeralContainers") {
    // Set means not the zero value: kubectl sends an empty `resources: {}`.
    const isSet = (v: unknown) => (Array.isArray(v) ? v.length > 0 : typeof v === "object" && v !== null ? Object.values(v).some(isSet) : v !== undefined && v !== null && v !== "" && v !== false && v !== 0);
    for (const f of ["lifecycle", "livenessProbe", "readinessProbe", "startupProbe", "ports", "resources"] as const)
      if (isSet(c[f])) errs.push(fieldForbidden(`${path}.${f}`, "cannot be set for an Ephemeral Container"));
  } else {
    errs.push(...validateProbe(c.livenessProbe, `${path}.livenessProbe`, true));
    errs.push(...validateProbe(c.readinessProbe, `${path}.readinessProbe`, false));
    errs.push(...validateProbe(c.startupProbe, `${path}.startupProbe`, true));
    if (c.lifecycle) {
      errs.push(...validateHandler(c.lifecycle.postStart, `${path}.lifecycle.postStart`, ["exec", "httpGet", "tcpSocket", "sleep"]));
      errs.push(...validateHandler(c.lifecycle.preStop, `${path}.lifecycle.preStop`, ["exec", "httpGet", "tcpSocket", "sleep"]));
    }
  }

  errs.push(...validatePorts(c.ports, `${path}.ports`, !!spec.hostNetwork));
  errs.push(...validateEnv(c.env, `${path}.env`));
  (c.envFrom ?? []).forEach((e, i) => {
    const p = `${path}.envFrom[${i}]`;
    const n = [e.configMapRef, e.secretRef].filter(Boolean).length;
    if (n === 0) errs.push(fieldInvalid(p, "", "must specify one of: `configMapRef` or `secretRef`"));
    else if (n > 1) errs.push(fieldInvalid(p, "", "may not have more than one field specified at a time"));
    if (e.configMapRef && !e.configMapRef.name) errs.push(fieldRequired(`${p}.configMapRef.name`));
    if (e.secretRef && !e.secretRef.name) errs.push(fieldRequired(`${p}.secretRef.name`));
  });
  errs.push(...validateResources(c.resources, `${path}.resources`));

  const mountPaths = new Set<string>();
  (c.volumeMounts ?? []).forEach((m, i) => {
    const p = `${path}.volumeMounts[${i}]`;
    if (!m.name) errs.push(fieldRequired(`${p}.name`));
    else if (!volumes.has(m.name)) errs.push({ field: `${p}.name`, type: "Invalid", message: `Not found: ${JSON.stringify(m.name)}` });
    if (!m.mountPath) errs.push(fieldRequired(`${p}.mountPath`));
    else if (mountPaths.has(m.mountPath)) errs.push(fieldInvalid(`${p}.mountPath`, m.mountPath, "must be unique"));
    if (m.mountPath) mountPaths.add(m.mountPath);
    if (m.subPath) errs.push(...validateLocalPath(m.subPath, `${p}.subPath`));
    if (m.subPath && m.subPathExpr) errs.push(fieldInvalid(`${p}.subPathExpr`, m.subPathExpr, "subPathExpr and subPath are mutually exclusive"));
    if (m.mountPropagation !== undefined && !["None", "HostToContainer", "Bidirectional"].includes(m.mountPropagation))
      errs.push(fieldNotSupported(`${p}.mountPropagation`, m.mountPropagation, ["Bidirectional", "HostToContainer", "None"]));
  });
  (c.volumeDevices ?? []).forEach((d, i) => {
    const p = `${path}.volumeDevices[${i}]`;
    if (!d.name) errs.push(fieldRequired(`${p}.name`));
    else if (!volumes.has(d.name)) errs.push({ field: `${p}.name`, type: "Invalid", message: `Not found: ${JSON.stringify(d.name)}` });
    if (!d.devicePath) errs.push(fieldRequired(`${p}.devicePath`));
  });
  return errs;
}

/** Relative paths without '..' (subPath, volume item paths). */
function validateLocalPath(p: string, path: string): FieldError[] {
  if (p.startsWith("/")) return [fieldInvalid(path, p, "must be a relative path")];
  if (p.split("/").includes("..")) return [fieldInvalid(path, p, "must not contain '..'")];
  return [];
}

function validateMode(mode: number | undefined, path: string): FieldError[] {
  return mode !== undefined && (mode < 0 || mode > 0o777)
    ? [fieldInvalid(path, mode, "must be a number between 0 and 0777 (octal), both inclusive")]
    : [];
}

function validateItems(items: { key?: string; path: string; mode?: number }[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  (items ?? []).forEach((it, i) => {
    const p = `${path}[${i}]`;
    if (it.key !== undefined && !it.key) errs.push(fieldRequired(`${p}.key`));
    if (!it.path) errs.push(fieldRequired(`${p}.path`));
    else errs.push(...validateLocalPath(it.path, `${p}.path`));
    errs.push(...validateMode(it.mode, `${p}.mode`));
  });
  return errs;
}

function validateVolume(v: Volume, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!v.name) errs.push(fieldRequired(`${path}.name`));
  else errs.push(...each(`${path}.name`, v.name, isDns1123Label(v.name)));
  const rec = v as Record<string, unknown>;
  const set = VOLUME_SOURCES.filter((k) => rec[k] !== undefined && rec[k] !== null);
  if (set.length === 0) errs.push(fieldRequired(path, "must specify a volume type"));
  for (const extra of set.slice(1)) errs.push(fieldForbidden(`${path}.${extra}`, "may not specify more than 1 volume type"));
  if (v.hostPath) {
    if (!v.hostPath.path) errs.push(fieldRequired(`${path}.hostPath.path`));
    const types = ["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"];
    if (v.hostPath.type !== undefined && !types.includes(v.hostPath.type))
      errs.push(fieldNotSupported(`${path}.hostPath.type`, v.hostPath.type, types));
  }
  if (v.emptyDir?.medium !== undefined && !["", "Memory", "HugePages"].includes(v.emptyDir.medium) && !v.emptyDir.medium.startsWith("HugePages-"))
    errs.push(fieldNotSupported(`${path}.emptyDir.medium`, v.emptyDir.medium, ["", "Memory", "HugePages"]));
  if (v.secret) {
    if (!v.secret.secretName) errs.push(fieldRequired(`${path}.secret.secretName`));
    errs.push(...validateMode(v.secret.defaultMode, `${path}.secret.defaultMode`));
    errs.push(...validateItems(v.secret.items, `${path}.secret.items`));
  }
  if (v.configMap) {
    if (!v.configMap.name) errs.push(fieldRequired(`${path}.configMap.name`));
    errs.push(...validateMode(v.configMap.defaultMode, `${path}.configMap.defaultMode`));
    errs.push(...validateItems(v.configMap.items, `${path}.configMap.items`));
  }
  if (v.downwardAPI) {
    errs.push(...validateMode(v.downwardAPI.defaultMode, `${path}.downwardAPI.defaultMode`));
    (v.downwardAPI.items ?? []).forEach((it, i) => {
      const p = `${path}.downwardAPI.items[${i}]`;
      errs.push(...validateItems([it], `${path}.downwardAPI.items`).map((e) => ({ ...e, field: e.field.replace(`items[0]`, `items[${i}]`) })));
      if (!it.fieldRef === !it.resourceFieldRef)
        errs.push(fieldInvalid(p, "", "fieldRef and resourceFieldRef can not be specified simultaneously"));
      if (it.fieldRef) errs.push(...validateFieldRef(it.fieldRef, `${p}.fieldRef`));
    });
  }
  if (v.projected) {
    errs.push(...validateMode(v.projected.defaultMode, `${path}.projected.defaultMode`));
    (v.projected.sources ?? []).forEach((s, i) => {
      const p = `${path}.projected.sources[${i}]`;
      const n = Object.values(s).filter((x) => x !== undefined && x !== null).length;
      if (n === 0) errs.push(fieldRequired(p, "must specify exactly 1 projection type"));
      else if (n > 1) errs.push(fieldForbidden(p, "may not specify more than 1 volume type per source"));
      if (s.configMap) errs.push(...validateItems(s.configMap.items, `${p}.configMap.items`));
      if (s.secret) errs.push(...validateItems(s.secret.items, `${p}.secret.items`));
      if (s.serviceAccountToken) {
        if (!s.serviceAccountToken.path) errs.push(fieldRequired(`${p}.serviceAccountToken.path`));
        const exp = s.serviceAccountToken.expirationSeconds;
        if (exp !== undefined && exp < 600) errs.push(fieldInvalid(`${p}.serviceAccountToken.expirationSeconds`, exp, "may not specify a duration less than 10 minutes"));
      }
    });
  }
  if (v.persistentVolumeClaim && !v.persistentVolumeClaim.claimName)
    errs.push(fieldRequired(`${path}.persistentVolumeClaim.claimName`));
  if (v.nfs) {
    if (!v.nfs.server) errs.push(fieldRequired(`${path}.nfs.server`));
    if (!v.nfs.path) errs.push(fieldRequired(`${path}.nfs.path`));
    else if (!v.nfs.path.startsWith("/")) errs.push(fieldInvalid(`${path}.nfs.path`, v.nfs.path, "must be an absolute path"));
  }
  return errs;
}

export function validateTolerations(tolerations: Toleration[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  (tolerations ?? []).forEach((t, i) => {
    const p = `${path}[${i}]`;
    if (t.key) errs.push(...each(`${p}.key`, t.key, isQualifiedName(t.key)));
    if (!t.key && t.operator !== "Exists")
      errs.push(fieldInvalid(`${p}.operator`, t.operator ?? "", 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    if (t.tolerationSeconds !== undefined && t.effect !== "NoExecute")
      errs.push(fieldInvalid(`${p}.effect`, t.effect ?? "", "effect must be 'NoExecute' when `tolerationSeconds` is set"));
    switch (t.operator) {
      case undefined:
      case "":
      case "Equal":
        if (t.value) errs.push(...each(`${p}.value`, t.value, isValidLabelValue(t.value)));
        break;
      case "Exists":
        if (t.value) errs.push(fieldInvalid(`${p}.operator`, t, "value must be empty when `operator` is 'Exists'"));
        break;
      default:
        errs.push(fieldNotSupported(`${p}.operator`, t.operator, ["Equal", "Exists"]));
    }
    if (t.effect && !TAINT_EFFECTS.includes(t.effect)) errs.push(fieldNotSupported(`${p}.effect`, t.effect, TAINT_EFFECTS));
  });
  return errs;
}

export function validateNodeSelectorTerm(term: { matchExpressions?: { key: string; operator: string; values?: string[] }[]; matchFields?: { key: string; operator: string; values?: string[] }[] }, path: string): FieldError[] {
  const errs: FieldError[] = [];
  (term.matchExpressions ?? []).forEach((r, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    errs.push(...each(`${p}.key`, r.key, isQualifiedName(r.key)));
    const n = (r.values ?? []).length;
    switch (r.operator) {
      case "In":
      case "NotIn":
        if (n === 0) errs.push(fieldRequired(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case "Exists":
      case "DoesNotExist":
        if (n > 0) errs.push(fieldForbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      case "Gt":
      case "Lt":
        if (n !== 1) errs.push(fieldRequired(`${p}.values`, "must be specified single value when `operator` is 'Lt' or 'Gt'"));
        break;
      default:
        errs.push(fieldInvalid(`${p}.operator`, r.operator, "not a valid selector operator"));
    }
  });
  (term.matchFields ?? []).forEach((r, i) => {
    const p = `${path}.matchFields[${i}]`;
    if (r.key !== "metadata.name") errs.push(fieldNotSupported(`${p}.key`, r.key, ["metadata.name"]));
    if (!["In", "NotIn"].includes(r.operator)) errs.push(fieldInvalid(`${p}.operator`, r.operator, "not a valid selector operator"));
    else if ((r.values ?? []).length !== 1) errs.push(fieldRequired(`${p}.values`, "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"));
  });
  return errs;
}

const weightErr = (w: number, path: string) => (w < 1 || w > 100 ? [fieldInvalid(path, w, "must be in the range 1-100")] : []);

function validateAffinity(a: Affinity | undefined, path: string): FieldError[] {
  if (!a) return [];
  const errs: FieldError[] = [];
  const na = a.nodeAffinity;
  if (na?.requiredDuringSchedulingIgnoredDuringExecution) {
    const p = `${path}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`;
    const terms = na.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms ?? [];
    if (terms.length === 0) errs.push(fieldRequired(p, "must have at least one node selector term"));
    terms.forEach((t, i) => errs.push(...validateNodeSelectorTerm(t, `${p}[${i}]`)));
  }
  (na?.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((t, i) => {
    const p = `${path}.nodeAffinity.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
    errs.push(...weightErr(t.weight, `${p}.weight`));
    errs.push(...validateNodeSelectorTerm(t.preference, `${p}.preference`));
  });
  for (const kind of ["podAffinity", "podAntiAffinity"] as const) {
    const pa = a[kind];
    if (!pa) continue;
    const termErrs = (t: { topologyKey: string; labelSelector?: unknown; namespaceSelector?: unknown }, p: string) => {
      const out: FieldError[] = [];
      if (!t.topologyKey) out.push(fieldRequired(`${p}.topologyKey`, "can not be empty"));
      else out.push(...each(`${p}.topologyKey`, t.topologyKey, isQualifiedName(t.topologyKey)));
      out.push(...validateLabelSelector(t.labelSelector as never, `${p}.labelSelector`));
      out.push(...validateLabelSelector(t.namespaceSelector as never, `${p}.namespaceSelector`));
      return out;
    };
    (pa.requiredDuringSchedulingIgnoredDuringExecution ?? []).forEach((t, i) =>
      errs.push(...termErrs(t, `${path}.${kind}.requiredDuringSchedulingIgnoredDuringExecution[${i}]`)),
    );
    (pa.preferredDuringSchedulingIgnoredDuringExecution ?? []).forEach((t, i) => {
      const p = `${path}.${kind}.preferredDuringSchedulingIgnoredDuringExecution[${i}]`;
      errs.push(...weightErr(t.weight, `${p}.weight`));
      errs.push(...termErrs(t.podAffinityTerm, `${p}.podAffinityTerm`));
    });
  }
  return errs;
}

/** ValidatePodSpec. `path` is "spec" for pods, "spec.template.spec" for workloads. */
export function validatePodSpec(spec: PodSpec | undefined, path: string): FieldError[] {
  if (!spec) return [fieldRequired(path)];
  const errs: FieldError[] = [];

  const volumeNames = new Set<string>();
  (spec.volumes ?? []).forEach((v, i) => {
    const p = `${path}.volumes[${i}]`;
    errs.push(...validateVolume(v, p));
    if (v.name && volumeNames.has(v.name)) errs.push(fieldDuplicate(`${p}.name`, v.name));
    if (v.name) volumeNames.add(v.name);
  });

  if (!spec.containers || spec.containers.length === 0) errs.push(fieldRequired(`${path}.containers`));
  const names = new Set<string>();
  for (const kind of ["initContainers", "containers", "ephemeralContainers"] as const) {
    (spec[kind] ?? []).forEach((c, i) => {
      const p = `${path}.${kind}[${i}]`;
      errs.push(...validateContainer(c as Container, p, kind, volumeNames, spec));
      if (c.name && names.has(c.name)) errs.push(fieldDuplicate(`${p}.name`, c.name));
      if (c.name) names.add(c.name);
    });
  }

  // An ephemeral container's target is one of the pod's own (init) containers.
  const targets = new Set([...(spec.containers ?? []), ...(spec.initContainers ?? [])].map((c) => c.name));
  (spec.ephemeralContainers ?? []).forEach((c, i) => {
    const target = (c as { targetContainerName?: string }).targetContainerName;
    if (target && !targets.has(target)) errs.push({ field: `${path}.ephemeralContainers[${i}].targetContainerName`, type: "Invalid", message: `Not found: ${JSON.stringify(target)}` });
  });

  if (spec.restartPolicy !== undefined && !RESTART_POLICIES.includes(spec.restartPolicy))
    errs.push(fieldNotSupported(`${path}.restartPolicy`, spec.restartPolicy, RESTART_POLICIES));
  if (spec.dnsPolicy !== undefined && !DNS_POLICIES.includes(spec.dnsPolicy))
    errs.push(fieldNotSupported(`${path}.dnsPolicy`, spec.dnsPolicy, DNS_POLICIES));
  if (spec.dnsPolicy === "None" && !spec.dnsConfig)
    errs.push(fieldRequired(`${path}.dnsConfig`, "must provide `dnsConfig` when `dnsPolicy` is None"));
  if (spec.dnsConfig) {
    const ns = spec.dnsConfig.nameservers ?? [];
    if (ns.length > 3) errs.push(fieldInvalid(`${path}.dnsConfig.nameservers`, ns, "must not have more than 3 nameservers"));
    ns.forEach((n, i) => {
      if (!isIP(n)) errs.push(fieldInvalid(`${path}.dnsConfig.nameservers[${i}]`, n, "must be valid IP address"));
    });
    if (spec.dnsPolicy === "None" && ns.length === 0)
      errs.push(fieldRequired(`${path}.dnsConfig.nameservers`, "must provide at least one DNS nameserver when `dnsPolicy` is None"));
    const searches = spec.dnsConfig.searches ?? [];
    if (searches.length > 32) errs.push(fieldInvalid(`${path}.dnsConfig.searches`, searches, "must not have more than 32 search paths"));
    searches.forEach((s, i) => errs.push(...each(`${path}.dnsConfig.searches[${i}]`, s, isDns1123Subdomain(s.replace(/\.$/, "")))));
  }
  errs.push(...nonNegative(spec.terminationGracePeriodSeconds, `${path}.terminationGracePeriodSeconds`));
  if (spec.activeDeadlineSeconds !== undefined && (spec.activeDeadlineSeconds < 1 || spec.activeDeadlineSeconds > 2147483647))
    errs.push(fieldInvalid(`${path}.activeDeadlineSeconds`, spec.activeDeadlineSeconds, "must be between 1 and 2147483647, inclusive"));
  errs.push(...validateLabels(spec.nodeSelector, `${path}.nodeSelector`));
  if (spec.serviceAccountName) errs.push(...each(`${path}.serviceAccountName`, spec.serviceAccountName, isDns1123Subdomain(spec.serviceAccountName)));
  if (spec.nodeName) errs.push(...each(`${path}.nodeName`, spec.nodeName, isDns1123Subdomain(spec.nodeName)));
  if (spec.hostname) errs.push(...each(`${path}.hostname`, spec.hostname, isDns1123Label(spec.hostname)));
  if (spec.subdomain) errs.push(...each(`${path}.subdomain`, spec.subdomain, isDns1123Label(spec.subdomain)));
  if (spec.priorityClassName) errs.push(...each(`${path}.priorityClassName`, spec.priorityClassName, isDns1123Subdomain(spec.priorityClassName)));
  if (spec.runtimeClassName) errs.push(...each(`${path}.runtimeClassName`, spec.runtimeClassName, isDns1123Subdomain(spec.runtimeClassName)));
  if (spec.preemptionPolicy !== undefined && !["PreemptLowerPriority", "Never"].includes(spec.preemptionPolicy))
    errs.push(fieldNotSupported(`${path}.preemptionPolicy`, spec.preemptionPolicy, ["Never", "PreemptLowerPriority"]));
  if (spec.os && !["linux", "windows"].includes(spec.os.name)) errs.push(fieldNotSupported(`${path}.os.name`, spec.os.name, ["linux", "windows"]));
  (spec.imagePullSecrets ?? []).forEach((s, i) => {
    if (!s.name) errs.push(fieldRequired(`${path}.imagePullSecrets[${i}].name`));
  });
  (spec.hostAliases ?? []).forEach((h, i) => {
    const p = `${path}.hostAliases[${i}]`;
    if (!isIP(h.ip)) errs.push(fieldInvalid(`${p}.ip`, h.ip, "must be valid IP address"));
    (h.hostnames ?? []).forEach((n, j) => errs.push(...each(`${p}.hostnames[${j}]`, n, isDns1123Subdomain(n))));
  });
  (spec.readinessGates ?? []).forEach((g, i) =>
    errs.push(...each(`${path}.readinessGates[${i}].conditionType`, g.conditionType, isQualifiedName(g.conditionType))),
  );
  errs.push(...validateTolerations(spec.tolerations, `${path}.tolerations`));
  errs.push(...validateAffinity(spec.affinity, `${path}.affinity`));
  const seen = new Set<string>();
  (spec.topologySpreadConstraints ?? []).forEach((c, i) => {
    const p = `${path}.topologySpreadConstraints[${i}]`;
    if (c.maxSkew <= 0) errs.push(fieldInvalid(`${p}.maxSkew`, c.maxSkew, "must be greater than zero"));
    if (!c.topologyKey) errs.push(fieldRequired(`${p}.topologyKey`, "can not be empty"));
    if (!["DoNotSchedule", "ScheduleAnyway"].includes(c.whenUnsatisfiable))
      errs.push(fieldNotSupported(`${p}.whenUnsatisfiable`, c.whenUnsatisfiable, ["DoNotSchedule", "ScheduleAnyway"]));
    const key = `${c.topologyKey}/${c.whenUnsatisfiable}`;
    if (seen.has(key)) errs.push(fieldDuplicate(p, `{${c.topologyKey}, ${c.whenUnsatisfiable}}`));
    seen.add(key);
    if (c.minDomains !== undefined && c.minDomains <= 0) errs.push(fieldInvalid(`${p}.minDomains`, c.minDomains, "must be greater than 0"));
    errs.push(...validateLabelSelector(c.labelSelector, `${p}.labelSelector`));
  });
  for (const [name, q] of Object.entries(spec.overhead ?? {}))
    if (tryParseQuantity(q) === undefined) errs.push(fieldInvalid(`${path}.overhead[${name}]`, q, QUANTITY_MESSAGE));
  if (spec.securityContext?.sysctls) {
    spec.securityContext.sysctls.forEach((s, i) => {
      if (!s.name) errs.push(fieldRequired(`${path}.securityContext.sysctls[${i}].name`));
    });
  }
  return errs;
}

/** ValidatePodTemplateSpec for workloads: metadata labels/annotations plus the spec. */
export function validatePodTemplate(t: PodTemplateSpec | undefined, path: string, opts: { restartPolicies?: string[]; kind?: string } = {}): FieldError[] {
  if (!t) return [fieldRequired(path)];
  const errs: FieldError[] = [];
  errs.push(...validateLabels(t.metadata?.labels, `${path}.metadata.labels`));
  errs.push(...validateAnnotations(t.metadata?.annotations, `${path}.metadata.annotations`));
  errs.push(...validatePodSpec(t.spec, `${path}.spec`));
  if (t.spec && opts.restartPolicies && t.spec.restartPolicy !== undefined && !opts.restartPolicies.includes(t.spec.restartPolicy))
    errs.push(fieldNotSupported(`${path}.spec.restartPolicy`, t.spec.restartPolicy, opts.restartPolicies));
  if (t.spec?.activeDeadlineSeconds !== undefined)
    errs.push(fieldForbidden(`${path}.spec.activeDeadlineSeconds`, `activeDeadlineSeconds in ${opts.kind ?? "ReplicaSet"} is not Supported`));
  return errs;
}
