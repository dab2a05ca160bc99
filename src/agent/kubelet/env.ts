// A container's environment: envFrom, env (with $(VAR) references), values from ConfigMaps,
// Secrets, the downward API and resources, plus the in-cluster API address every pod gets: the
// `kubernetes` Service's variables, named and shaped as upstream's kubelet makes them for it.
import type { Pod } from "../../api/resources/core/pod";
import type { Container } from "../../api/resources/core/podspec.schema";
import { cpuMillis, memoryBytes, parseQuantity, quantityNumber } from "../../api/quantity";
import type { PodSources } from "./sources";

export interface EnvContext {
  pod: Pod;
  podIP?: string;
  hostIP?: string;
  /** The `kubernetes` Service pods reach the API server through: its ClusterIP and port (443). */
  apiServerHost: string;
  apiServerPort: number;
  /** Node allocatable, for resource env of containers without limits. */
  nodeCpuMillis: number;
  nodeMemoryBytes: number;
}

const dec = new TextDecoder();
const ENV_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** The value of a downward API field path; undefined for an unsupported one. */
export function fieldValue(ctx: Pick<EnvContext, "pod" | "podIP" | "hostIP">, path: string): string | undefined {
  const { pod } = ctx;
  const m = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(path);
  if (m) return (m[1] === "labels" ? pod.metadata.labels : pod.metadata.annotations)?.[m[2]] ?? "";
  switch (path) {
    case "metadata.name":
      return pod.metadata.name;
    case "metadata.namespace":
      return pod.metadata.namespace;
    case "metadata.uid":
      return pod.metadata.uid;
    case "metadata.labels":
      return mapLines(pod.metadata.labels);
    case "metadata.annotations":
      return mapLines(pod.metadata.annotations);
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "default";
    case "status.podIP":
    case "status.podIPs":
      return ctx.podIP ?? "";
    case "status.hostIP":
    case "status.hostIPs":
      return ctx.hostIP ?? "";
  }
  return undefined;
}

/** The downward API's file format for label and annotation maps: key="value" per line, sorted. */
export const mapLines = (m: Record<string, string> | undefined) =>
  Object.keys(m ?? {})
    .sort()
    .map((k) => `${k}=${JSON.stringify(m![k])}`)
    .join("\n");

/** limits.cpu etc. divided by the divisor and rounded up, as upstream does. */
export function resourceValue(ctx: EnvContext, container: Container | undefined, resource: string, divisor?: string | number): string {
  const [kind, name] = resource.split(".");
  const set = kind === "requests" ? container?.resources?.requests : container?.resources?.limits;
  const raw = set?.[name] ?? (kind === "limits" || name === "cpu" ? undefined : undefined);
  const d = divisor === undefined ? 1 : quantityNumber(parseQuantity(divisor)) || 1;
  if (name === "cpu") {
    const millis = raw !== undefined ? cpuMillis(raw) : kind === "limits" ? ctx.nodeCpuMillis : 0;
    return String(Math.ceil(millis / 1000 / d));
  }
  const bytes = raw !== undefined ? memoryBytes(raw) : kind === "limits" ? ctx.nodeMemoryBytes : 0;
  return String(Math.ceil(bytes / d));
}

/** Expands $(VAR) from earlier variables; $$ escapes; unknown references stay as written. */
export function expand(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([^)]*)\)/g, (all, name) => (all === "$$" ? "$" : name in vars ? vars[name] : all));
}

/**
 * The variables upstream's kubelet derives from the `kubernetes` Service (one TCP port named
 * https): <NAME>_SERVICE_HOST/_PORT/_PORT_<PORTNAME> and the Docker-link style <NAME>_PORT_*.
 */
export function kubernetesServiceEnv(host: string, port: number): Record<string, string> {
  const url = `tcp://${host}:${port}`;
  const link = `KUBERNETES_PORT_${port}_TCP`;
  return {
    KUBERNETES_SERVICE_HOST: host,
    KUBERNETES_SERVICE_PORT: String(port),
    KUBERNETES_SERVICE_PORT_HTTPS: String(port),
    KUBERNETES_PORT: url,
    [link]: url,
    [`${link}_PROTO`]: "tcp",
    [`${link}_PORT`]: String(port),
    [`${link}_ADDR`]: host,
  };
}

export async function containerEnv(ctx: EnvContext, container: Container, sources: PodSources): Promise<Record<string, string>> {
  const env: Record<string, string> = kubernetesServiceEnv(ctx.apiServerHost, ctx.apiServerPort);
  for (const from of container.envFrom ?? []) {
    const ref = from.configMapRef ?? from.secretRef;
    const data = from.configMapRef ? await sources.configMap(ref?.name ?? "") : await sources.secret(ref?.name ?? "");
    if (!data) {
      if (ref?.optional) continue;
      throw new Error(`${from.configMapRef ? "configmap" : "secret"} "${ref?.name}" not found`);
    }
    for (const [k, v] of Object.entries(data)) {
      const name = `${from.prefix ?? ""}${k}`;
      if (ENV_NAME.test(name)) env[name] = dec.decode(v);
    }
  }
  for (const e of container.env ?? []) {
    const vf = e.valueFrom;
    if (!vf) {
      env[e.name] = expand(e.value ?? "", env);
      continue;
    }
    if (vf.fieldRef) env[e.name] = fieldValue(ctx, vf.fieldRef.fieldPath) ?? "";
    else if (vf.resourceFieldRef) {
      const target = vf.resourceFieldRef.containerName ? ctx.pod.spec?.containers.find((c) => c.name === vf.resourceFieldRef!.containerName) : container;
      env[e.name] = resourceValue(ctx, target, vf.resourceFieldRef.resource, vf.resourceFieldRef.divisor);
    } else if (vf.configMapKeyRef || vf.secretKeyRef) {
      const ref = (vf.configMapKeyRef ?? vf.secretKeyRef)!;
      const data = vf.configMapKeyRef ? await sources.configMap(ref.name ?? "") : await sources.secret(ref.name ?? "");
      const v = data?.[ref.key];
      if (v === undefined) {
        if (ref.optional) continue;
        throw new Error(`${vf.configMapKeyRef ? "configmap" : "secret"} "${ref.name}" ${data ? `has no key "${ref.key}"` : "not found"}`);
      }
      env[e.name] = dec.decode(v);
    }
  }
  return env;
}
