import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { IntOrString, MergeList, Obj, StringMap, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import {
  fieldDuplicate,
  fieldForbidden,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  isDns1123Label,
  isDns1123Subdomain,
  isDns1035Label,
  isQualifiedName,
  isValidPortNumber,
  validateLabels,
} from "../../validation";
import { isCIDR, isIP, isIPv4 } from "../../ip";
import { Conditions, formatLabels, Int32, Int64, jsonEqual, NullableTime } from "../common";
import { validatePortNumOrName } from "./podspec.validate";

const Str = () => Type.String();
const Opt = Type.Optional;

export const ServicePortSchema = Obj({
  name: Opt(Str()),
  protocol: Opt(Str()),
  appProtocol: Opt(Str()),
  port: Int32(),
  targetPort: Opt(IntOrString),
  nodePort: Opt(Int32()),
});

export const ServiceSpecSchema = Obj({
  ports: Opt(MergeList(ServicePortSchema, "port", { "x-kubernetes-list-map-keys": ["port", "protocol"] })),
  selector: Opt(StringMap),
  clusterIP: Opt(Str()),
  clusterIPs: Opt(Type.Array(Str())),
  type: Opt(Str()),
  externalIPs: Opt(Type.Array(Str())),
  sessionAffinity: Opt(Str()),
  loadBalancerIP: Opt(Str()),
  loadBalancerSourceRanges: Opt(Type.Array(Str())),
  externalName: Opt(Str()),
  externalTrafficPolicy: Opt(Str()),
  healthCheckNodePort: Opt(Int32()),
  publishNotReadyAddresses: Opt(Type.Boolean()),
  sessionAffinityConfig: Opt(Obj({ clientIP: Opt(Obj({ timeoutSeconds: Opt(Int32()) })) })),
  ipFamilies: Opt(Type.Array(Str())),
  ipFamilyPolicy: Opt(Str()),
  allocateLoadBalancerNodePorts: Opt(Type.Boolean()),
  loadBalancerClass: Opt(Str()),
  internalTrafficPolicy: Opt(Str()),
  trafficDistribution: Opt(Str()),
});

export const ServiceStatusSchema = Obj({
  loadBalancer: Opt(
    Obj({
      ingress: Opt(
        Type.Array(
          Obj({
            ip: Opt(Str()),
            hostname: Opt(Str()),
            ipMode: Opt(Str()),
            ports: Opt(Type.Array(Obj({ port: Int32(), protocol: Str(), error: Opt(Str()) }))),
          }),
        ),
      ),
    }),
  ),
  conditions: Opt(
    Conditions(
      Obj({
        type: Str(),
        status: Str(),
        observedGeneration: Opt(Int64()),
        lastTransitionTime: Opt(NullableTime),
        reason: Opt(Str()),
        message: Opt(Str()),
      }),
    ),
  ),
});

export const ServiceSchema = TopLevel(
  { spec: Opt(ServiceSpecSchema), status: Opt(ServiceStatusSchema) },
  "Service is a named abstraction of software service (for example, mysql) consisting of local port (for example 3306) that the proxy listens on, and the selector that determines which pods will answer requests sent through the proxy.",
);

export type ServicePort = Static<typeof ServicePortSchema>;
export type ServiceSpec = Static<typeof ServiceSpecSchema>;
export type Service = Static<typeof ServiceSchema> & KubeObject;

const TYPES = ["ClusterIP", "NodePort", "LoadBalancer", "ExternalName"];
const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const TRAFFIC_POLICIES = ["Cluster", "Local"];
const IP_FAMILIES = ["IPv4", "IPv6"];
const IP_FAMILY_POLICIES = ["SingleStack", "PreferDualStack", "RequireDualStack"];

export const isHeadless = (svc: Service) => svc.spec?.clusterIP === "None";
const usesNodePorts = (type: string | undefined) => type === "NodePort" || type === "LoadBalancer";
/** upstream's ExternallyAccessible: reachable from outside, so externalTrafficPolicy applies. */
const externallyAccessible = (spec: ServiceSpec) => usesNodePorts(spec.type) || ((spec.type ?? "ClusterIP") === "ClusterIP" && !!spec.externalIPs?.length);

function defaultService(svc: Service) {
  const spec = (svc.spec ??= {});
  spec.type ??= "ClusterIP";
  spec.sessionAffinity ??= "None";
  if (spec.sessionAffinity === "ClientIP") {
    spec.sessionAffinityConfig ??= {};
    spec.sessionAffinityConfig.clientIP ??= {};
    spec.sessionAffinityConfig.clientIP.timeoutSeconds ??= 10800;
  }
  for (const p of spec.ports ?? []) {
    p.protocol ??= "TCP";
    if (p.targetPort === undefined || p.targetPort === 0 || p.targetPort === "") p.targetPort = p.port;
  }
  if (externallyAccessible(spec)) spec.externalTrafficPolicy ||= "Cluster";
  if (spec.type === "LoadBalancer") spec.allocateLoadBalancerNodePorts ??= true;
  if (spec.type !== "ExternalName") {
    spec.internalTrafficPolicy ??= "Cluster";
    // clusterIP and clusterIPs[0] are the same address; keep them in step when only one is given.
    if (spec.clusterIP && !spec.clusterIPs?.length) spec.clusterIPs = [spec.clusterIP];
    if (!spec.clusterIP && spec.clusterIPs?.length) spec.clusterIP = spec.clusterIPs[0];
    spec.ipFamilyPolicy ??= "SingleStack";
    if (!spec.ipFamilies?.length) {
      const ip = spec.clusterIPs?.find((x) => x !== "None");
      spec.ipFamilies = [ip && !isIPv4(ip) ? "IPv6" : "IPv4"];
    }
  }
  svc.status ??= {};
  svc.status.loadBalancer ??= {};
  // LoadBalancerIPMode (on by default since 1.30): an ingress IP is a VIP unless said otherwise.
  if (spec.type === "LoadBalancer") for (const ing of svc.status.loadBalancer.ingress ?? []) if (ing.ip && !ing.ipMode) ing.ipMode = "VIP";
}

/**
 * upstream's dropTypeDependentFields: changing `type` (`kubectl edit` from LoadBalancer to
 * ClusterIP) drops the fields the old type needed and the new one forbids, unless the client
 * changed them in the same update (then validation reports them). The allocations behind them
 * are released by admission. A Service that is no longer a LoadBalancer loses its ingress status.
 */
function dropTypeDependentFields(svc: Service, old: Service) {
  const spec = (svc.spec ??= {});
  const prev = old.spec ?? {};
  const needsClusterIP = (t: string | undefined) => t !== "ExternalName";
  if (needsClusterIP(prev.type) && !needsClusterIP(spec.type)) {
    if (spec.clusterIP === prev.clusterIP && jsonEqual(spec.clusterIPs ?? [], prev.clusterIPs ?? [])) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    if (jsonEqual(spec.ipFamilies ?? [], prev.ipFamilies ?? [])) delete spec.ipFamilies;
    if (spec.ipFamilyPolicy === prev.ipFamilyPolicy) delete spec.ipFamilyPolicy;
  }
  if (usesNodePorts(prev.type) && !usesNodePorts(spec.type)) {
    const oldPorts = new Set((prev.ports ?? []).map((p) => p.nodePort).filter(Boolean));
    // Ports may be added, removed or changed, as long as no net-new NodePort appears.
    if ((spec.ports ?? []).every((p) => !p.nodePort || oldPorts.has(p.nodePort))) for (const p of spec.ports ?? []) delete p.nodePort;
  }
  const needsHealthCheck = (x: ServiceSpec) => x.type === "LoadBalancer" && x.externalTrafficPolicy === "Local";
  if (needsHealthCheck(prev) && !needsHealthCheck(spec) && spec.healthCheckNodePort === prev.healthCheckNodePort) delete spec.healthCheckNodePort;
  if (prev.type === "LoadBalancer" && spec.type !== "LoadBalancer") {
    if (spec.allocateLoadBalancerNodePorts !== undefined && spec.allocateLoadBalancerNodePorts === prev.allocateLoadBalancerNodePorts) delete spec.allocateLoadBalancerNodePorts;
    if (spec.loadBalancerClass === prev.loadBalancerClass) delete spec.loadBalancerClass;
  }
  if (externallyAccessible(prev) && !externallyAccessible(spec) && spec.externalTrafficPolicy === prev.externalTrafficPolicy) delete spec.externalTrafficPolicy;
  if (spec.type !== "LoadBalancer" && svc.status?.loadBalancer?.ingress) svc.status = { ...svc.status, loadBalancer: {} };
}

function validatePorts(svc: Service): FieldError[] {
  const spec = svc.spec ?? {};
  const ports = spec.ports ?? [];
  const errs: FieldError[] = [];
  const headless = isHeadless(svc);
  if (ports.length === 0 && !headless && spec.type !== "ExternalName") errs.push(fieldRequired("spec.ports"));
  const names = new Set<string>();
  const keys = new Set<string>();
  const nodePorts = new Set<string>();
  ports.forEach((p, i) => {
    const path = `spec.ports[${i}]`;
    if (ports.length > 1 || p.name) {
      if (!p.name) errs.push(fieldRequired(`${path}.name`));
      else {
        errs.push(...isDns1123Label(p.name).map((m) => fieldInvalid(`${path}.name`, p.name, m)));
        if (names.has(p.name)) errs.push(fieldDuplicate(`${path}.name`, p.name));
        names.add(p.name);
      }
    }
    if (!p.port || p.port < 1 || p.port > 65535) errs.push(fieldInvalid(`${path}.port`, p.port, "must be between 1 and 65535, inclusive"));
    if (p.protocol === undefined || p.protocol === "") errs.push(fieldRequired(`${path}.protocol`));
    else if (!PROTOCOLS.includes(p.protocol)) errs.push(fieldNotSupported(`${path}.protocol`, p.protocol, PROTOCOLS));
    if (p.targetPort !== undefined) errs.push(...validatePortNumOrName(p.targetPort, `${path}.targetPort`));
    const key = `${p.port}/${p.protocol}`;
    if (keys.has(key)) errs.push(fieldDuplicate(path, { port: p.port, protocol: p.protocol }));
    keys.add(key);
    if (p.nodePort) {
      if (!usesNodePorts(spec.type))
        errs.push(fieldForbidden(`${path}.nodePort`, `may not be used when \`type\` is '${spec.type}'`));
      // The range check belongs to admission, which knows --service-node-port-range.
      else if (p.nodePort < 1 || p.nodePort > 65535)
        errs.push(fieldInvalid(`${path}.nodePort`, p.nodePort, "must be between 1 and 65535, inclusive"));
      const npKey = `${p.nodePort}/${p.protocol}`;
      if (nodePorts.has(npKey)) errs.push(fieldDuplicate(`${path}.nodePort`, p.nodePort));
      nodePorts.add(npKey);
    }
    if (p.appProtocol) errs.push(...isQualifiedName(p.appProtocol).map((m) => fieldInvalid(`${path}.appProtocol`, p.appProtocol, m)));
  });
  return errs;
}

function validateService(svc: Service, old?: Service): FieldError[] {
  if (old) dropTypeDependentFields(svc, old);
  const spec = svc.spec ?? {};
  const errs: FieldError[] = [];
  // metadata.name (a DNS-1035 label for services) is checked centrally with the rest of metadata.
  const type = spec.type ?? "ClusterIP";
  if (!TYPES.includes(type)) errs.push(fieldNotSupported("spec.type", type, TYPES));

  if (type === "ExternalName") {
    if (spec.clusterIP) errs.push(fieldForbidden("spec.clusterIP", "may not be set for ExternalName services"));
    if (spec.clusterIPs?.length) errs.push(fieldForbidden("spec.clusterIPs", "may not be set for ExternalName services"));
    const ext = (spec.externalName ?? "").replace(/\.$/, "");
    if (!ext) errs.push(fieldRequired("spec.externalName"));
    else errs.push(...isDns1123Subdomain(ext).map((m) => fieldInvalid("spec.externalName", spec.externalName, m)));
  } else if (spec.externalName) {
    // Upstream drops externalName for other types; it is not an error.
  }

  if (spec.clusterIP && spec.clusterIP !== "None" && !isIP(spec.clusterIP))
    errs.push(fieldInvalid("spec.clusterIPs[0]", spec.clusterIP, "must be empty, 'None', or a valid IP address"));
  (spec.clusterIPs ?? []).forEach((ip, i) => {
    if (i === 0 && spec.clusterIP && ip !== spec.clusterIP)
      errs.push(fieldInvalid("spec.clusterIPs", spec.clusterIPs, "first value must match `clusterIP`"));
    if (ip === "None" && i > 0) errs.push(fieldInvalid(`spec.clusterIPs[${i}]`, ip, "must be a valid IP address"));
    else if (ip !== "None" && ip !== "" && !isIP(ip) && !(i === 0 && spec.clusterIP))
      errs.push(fieldInvalid(`spec.clusterIPs[${i}]`, ip, "must be empty, 'None', or a valid IP address"));
  });
  if (spec.clusterIP === "None" && usesNodePorts(type))
    errs.push(fieldInvalid("spec.clusterIPs[0]", "None", `may not be set to 'None' for ${type} services`));

  errs.push(...validatePorts(svc));
  errs.push(...validateLabels(spec.selector, "spec.selector"));

  if (spec.sessionAffinity !== undefined && !["None", "ClientIP"].includes(spec.sessionAffinity))
    errs.push(fieldNotSupported("spec.sessionAffinity", spec.sessionAffinity, ["ClientIP", "None"]));
  const timeout = spec.sessionAffinityConfig?.clientIP?.timeoutSeconds;
  if (spec.sessionAffinity === "ClientIP") {
    if (timeout !== undefined && (timeout <= 0 || timeout > 86400))
      errs.push(fieldInvalid("spec.sessionAffinityConfig.clientIP.timeoutSeconds", timeout, "must be greater than 0 and less than 86400"));
  } else if (spec.sessionAffinityConfig) {
    errs.push(fieldInvalid("spec.sessionAffinityConfig", spec.sessionAffinityConfig, `must not be set when session affinity is ${spec.sessionAffinity ?? "None"}`));
  }

  // upstream's validateServiceExternalTrafficPolicy.
  if (!externallyAccessible(spec)) {
    if (spec.externalTrafficPolicy) errs.push(fieldInvalid("spec.externalTrafficPolicy", spec.externalTrafficPolicy, "may only be set for externally-accessible services"));
  } else if (!spec.externalTrafficPolicy) errs.push(fieldRequired("spec.externalTrafficPolicy"));
  else if (!TRAFFIC_POLICIES.includes(spec.externalTrafficPolicy))
    errs.push(fieldNotSupported("spec.externalTrafficPolicy", spec.externalTrafficPolicy, TRAFFIC_POLICIES));
  if (spec.internalTrafficPolicy !== undefined && !TRAFFIC_POLICIES.includes(spec.internalTrafficPolicy))
    errs.push(fieldNotSupported("spec.internalTrafficPolicy", spec.internalTrafficPolicy, TRAFFIC_POLICIES));
  if (spec.healthCheckNodePort && !(type === "LoadBalancer" && spec.externalTrafficPolicy === "Local"))
    errs.push(fieldInvalid("spec.healthCheckNodePort", spec.healthCheckNodePort, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
  else if (spec.healthCheckNodePort)
    for (const m of isValidPortNumber(spec.healthCheckNodePort)) errs.push(fieldInvalid("spec.healthCheckNodePort", spec.healthCheckNodePort, m));
  if (spec.allocateLoadBalancerNodePorts !== undefined && type !== "LoadBalancer")
    errs.push(fieldForbidden("spec.allocateLoadBalancerNodePorts", "may only be used when `type` is 'LoadBalancer'"));
  if (spec.loadBalancerClass !== undefined && type !== "LoadBalancer")
    errs.push(fieldForbidden("spec.loadBalancerClass", "may only be used when service type is 'LoadBalancer'"));

  (spec.ipFamilies ?? []).forEach((f, i) => {
    if (!IP_FAMILIES.includes(f)) errs.push(fieldNotSupported(`spec.ipFamilies[${i}]`, f, IP_FAMILIES));
  });
  if ((spec.ipFamilies ?? []).length > 2) errs.push(fieldInvalid("spec.ipFamilies", spec.ipFamilies, "may specify no more than one IP for each IP family"));
  if (spec.ipFamilyPolicy !== undefined && !IP_FAMILY_POLICIES.includes(spec.ipFamilyPolicy))
    errs.push(fieldNotSupported("spec.ipFamilyPolicy", spec.ipFamilyPolicy, IP_FAMILY_POLICIES));
  if (type === "ExternalName" && spec.ipFamilyPolicy) errs.push(fieldForbidden("spec.ipFamilyPolicy", "may not be set for ExternalName services"));

  (spec.externalIPs ?? []).forEach((ip, i) => {
    if (!isIP(ip)) errs.push(fieldInvalid(`spec.externalIPs[${i}]`, ip, "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"));
  });
  if (spec.loadBalancerIP && !isIP(spec.loadBalancerIP))
    errs.push(fieldInvalid("spec.loadBalancerIP", spec.loadBalancerIP, "must be a valid IP address"));
  (spec.loadBalancerSourceRanges ?? []).forEach((r, i) => {
    if (!isCIDR(r.trim())) errs.push(fieldInvalid(`spec.loadBalancerSourceRanges[${i}]`, r, "must be a list of IP ranges. For example, 10.240.0.0/24,10.250.0.0/24 "));
  });
  if (spec.trafficDistribution !== undefined && !["PreferClose", "PreferSameZone", "PreferSameNode"].includes(spec.trafficDistribution))
    errs.push(fieldNotSupported("spec.trafficDistribution", spec.trafficDistribution, ["PreferClose", "PreferSameNode", "PreferSameZone"]));
  return errs;
}

/**
 * ClusterIPs may not change once set, except when switching to or from ExternalName. Like
 * upstream's patchAllocatedValues, an update that omits allocated values (clusterIP, nodePorts,
 * healthCheckNodePort: `kubectl replace` of a hand-written manifest) keeps the old ones.
 */
function serviceImmutable(svc: Service, old: Service): FieldError[] {
  const spec = (svc.spec ??= {});
  const prev = old.spec ?? {};
  if (spec.type === "ExternalName" || prev.type === "ExternalName") return [];
  if (prev.clusterIP && !spec.clusterIP && !spec.clusterIPs?.length) {
    spec.clusterIP = prev.clusterIP;
    spec.clusterIPs = prev.clusterIPs;
  }
  if (usesNodePorts(spec.type) && usesNodePorts(prev.type)) {
    for (const p of spec.ports ?? []) {
      if (p.nodePort) continue;
      const match = (prev.ports ?? []).find((o) => o.port === p.port && (o.protocol ?? "TCP") === (p.protocol ?? "TCP"));
      if (match?.nodePort) p.nodePort = match.nodePort;
    }
    if (!spec.healthCheckNodePort && prev.healthCheckNodePort && spec.externalTrafficPolicy === "Local")
      spec.healthCheckNodePort = prev.healthCheckNodePort;
  }
  const errs: FieldError[] = [];
  if (prev.clusterIP && spec.clusterIP !== prev.clusterIP)
    errs.push(fieldInvalid("spec.clusterIPs[0]", spec.clusterIP ?? "", "may not change once set"));
  return errs;
}

/** makePortString: "80/TCP,443:30443/TCP". */
export function servicePortsString(ports: ServicePort[] | undefined): string {
  const s = (ports ?? []).map((p) => (p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? "TCP"}` : `${p.port}/${p.protocol ?? "TCP"}`)).join(",");
  return s || "<none>";
}

/** getServiceExternalIP (wide form: load-balancer addresses are not clipped). */
export function serviceExternalIP(svc: Service): string {
  const spec = svc.spec ?? {};
  const ext = spec.externalIPs ?? [];
  switch (spec.type ?? "ClusterIP") {
    case "ClusterIP":
    case "NodePort":
      return ext.length ? ext.join(",") : "<none>";
    case "LoadBalancer": {
      const lb = [...new Set((svc.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || "").filter(Boolean))].sort();
      if (ext.length) return [...lb, ...ext].join(",");
      return lb.length ? lb.join(",") : "<pending>";
    }
    case "ExternalName":
      return spec.externalName ?? "";
  }
  return "<unknown>";
}

export const services: ResourceDef<Service> = {
  ...KINDS.services,
  schema: ServiceSchema,
  subresources: ["status", "proxy"],
  hasStatus: true,
  defaults: defaultService,
  validate: validateService,
  immutable: serviceImmutable,
  // A Service's name becomes a DNS label (and environment variable names): upstream's ValidateServiceName.
  nameValidator: isDns1035Label,
  table: {
    columns: [
      nameColumn,
      column("Type", "type determines how the Service is exposed."),
      column("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly."),
      column("External-IP", "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
      column("Port(s)", "The list of ports that are exposed by this service."),
      ageColumn,
      column("Selector", "Route service traffic to pods with label keys and values matching this selector.", 1),
    ],
    row: (svc, now) => [
      svc.metadata.name,
      svc.spec?.type ?? "",
      svc.spec?.clusterIPs?.[0] || svc.spec?.clusterIP || "<none>",
      serviceExternalIP(svc),
      servicePortsString(svc.spec?.ports),
      age(svc.metadata.creationTimestamp, now),
      formatLabels(svc.spec?.selector),
    ],
  },
  fieldSelectors: {
    "spec.clusterIP": (s) => s.spec?.clusterIP ?? "",
    "spec.type": (s) => s.spec?.type ?? "",
  },
};
