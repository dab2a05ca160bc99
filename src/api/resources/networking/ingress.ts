// networking.k8s.io/v1 Ingress: HTTP(S) routes from hosts and paths to Services (upstream's
// pkg/apis/networking, its ValidateIngress and registry strategy). bramble's own controller,
// built into every agent, serves the Ingresses of classes whose controller is bramble.io/ingress.
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import { isIP } from "../../ip";
import { KINDS } from "../../kinds";
import type { KubeObject } from "../../meta";
import type { ResourceDef } from "../../resource";
import { Obj, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldInvalid, fieldNotSupported, fieldRequired, isDns1035Label, isDns1123Subdomain, isValidPortName, isValidPortNumber } from "../../validation";
import { Int32 } from "../common";

const Str = () => Type.String();
const Opt = Type.Optional;

/** The annotation older clients name a class with (before spec.ingressClassName). */
export const INGRESS_CLASS_ANNOTATION = "kubernetes.io/ingress.class";

export const ServiceBackendPortSchema = Obj({ name: Opt(Str()), number: Opt(Int32()) });
export const IngressBackendSchema = Obj({
  service: Opt(Obj({ name: Str(), port: Opt(ServiceBackendPortSchema) })),
  resource: Opt(Obj({ apiGroup: Opt(Str()), kind: Str(), name: Str() })),
});
export const HTTPIngressPathSchema = Obj({
  path: Opt(Str()),
  pathType: Opt(Str()),
  backend: IngressBackendSchema,
});
export const IngressRuleSchema = Obj({
  host: Opt(Str()),
  http: Opt(Obj({ paths: Type.Array(HTTPIngressPathSchema) })),
});
export const IngressTLSSchema = Obj({ hosts: Opt(Type.Array(Str())), secretName: Opt(Str()) });

export const IngressSpecSchema = Obj({
  ingressClassName: Opt(Str()),
  defaultBackend: Opt(IngressBackendSchema),
  tls: Opt(Type.Array(IngressTLSSchema)),
  rules: Opt(Type.Array(IngressRuleSchema)),
});

export const IngressStatusSchema = Obj({
  loadBalancer: Opt(
    Obj({
      ingress: Opt(
        Type.Array(
          Obj({
            ip: Opt(Str()),
            hostname: Opt(Str()),
            ports: Opt(Type.Array(Obj({ port: Int32(), protocol: Str(), error: Opt(Str()) }))),
          }),
        ),
      ),
    }),
  ),
});

export const IngressSchema = TopLevel(
  { spec: Opt(IngressSpecSchema), status: Opt(IngressStatusSchema) },
  "Ingress is a collection of rules that allow inbound connections to reach the endpoints defined by a backend. An Ingress can be configured to give services externally-reachable urls, load balance traffic, terminate SSL, offer name based virtual hosting etc.",
);

export type Ingress = Static<typeof IngressSchema> & KubeObject;
export type IngressSpec = Static<typeof IngressSpecSchema>;
export type IngressBackend = Static<typeof IngressBackendSchema>;
export type IngressRule = Static<typeof IngressRuleSchema>;

export const PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"];
const INVALID_PATH_SEQUENCES = ["//", "/./", "/../", "%2f", "%2F"];
const INVALID_PATH_SUFFIXES = ["/..", "/."];
const WILDCARD_RE = /^\*\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Upstream's IsWildcardDNS1123Subdomain. */
export function isWildcardDns1123Subdomain(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 253) errs.push("must be no more than 253 characters");
  if (!WILDCARD_RE.test(s))
    errs.push(
      "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    );
  return errs;
}

function hostErrors(host: string, path: string): FieldError[] {
  if (isIP(host)) return [fieldInvalid(path, host, "must be a DNS name, not an IP address")];
  const msgs = host.includes("*") ? isWildcardDns1123Subdomain(host) : isDns1123Subdomain(host);
  return msgs.map((m) => fieldInvalid(path, host, m));
}

export function validateBackend(b: IngressBackend, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (b.service && b.resource) return [fieldInvalid(path, "", "cannot set both resource and service backends")];
  if (b.resource) {
    if (!b.resource.kind) errs.push(fieldRequired(`${path}.resource.kind`));
    if (!b.resource.name) errs.push(fieldRequired(`${path}.resource.name`));
    return errs;
  }
  if (!b.service) return [fieldInvalid(path, "", "one of `resource` or `service` must be specified")];
  const sp = `${path}.service`;
  if (!b.service.name) errs.push(fieldRequired(`${sp}.name`));
  else for (const m of isDns1035Label(b.service.name)) errs.push(fieldInvalid(`${sp}.name`, b.service.name, m));
  const port = b.service.port;
  const hasName = !!port?.name;
  const hasNumber = port?.number !== undefined && port.number !== 0;
  if (hasName && hasNumber) errs.push(fieldInvalid(`${sp}.port`, "", "cannot set both port name & port number"));
  else if (hasName) for (const m of isValidPortName(port!.name!)) errs.push(fieldInvalid(`${sp}.port.name`, port!.name, m));
  else if (hasNumber) for (const m of isValidPortNumber(port!.number!)) errs.push(fieldInvalid(`${sp}.port.number`, port!.number, m));
  else errs.push(fieldRequired(`${sp}.port`, "port name or number is required"));
  return errs;
}

function pathErrors(p: Static<typeof HTTPIngressPathSchema>, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const value = p.path ?? "";
  if (p.pathType === undefined) errs.push(fieldRequired(`${path}.pathType`, "pathType must be specified"));
  else if (!PATH_TYPES.includes(p.pathType)) errs.push(fieldNotSupported(`${path}.pathType`, p.pathType, PATH_TYPES));
  if (p.pathType === "Exact" || p.pathType === "Prefix") {
    if (!value.startsWith("/")) errs.push(fieldInvalid(`${path}.path`, value, "must be an absolute path"));
    for (const seq of INVALID_PATH_SEQUENCES) if (value.includes(seq)) errs.push(fieldInvalid(`${path}.path`, value, `must not contain '${seq}'`));
    for (const suf of INVALID_PATH_SUFFIXES) if (value.endsWith(suf)) errs.push(fieldInvalid(`${path}.path`, value, `cannot end with '${suf}'`));
  } else if (value && !value.startsWith("/")) errs.push(fieldInvalid(`${path}.path`, value, "must be an absolute path"));
  errs.push(...validateBackend(p.backend ?? {}, `${path}.backend`));
  return errs;
}

export function validateIngress(ing: Ingress, old?: Ingress): FieldError[] {
  const errs: FieldError[] = [];
  const spec = ing.spec ?? {};
  if (!(spec.rules ?? []).length && !spec.defaultBackend) errs.push(fieldInvalid("spec", spec.rules ?? null, "either `defaultBackend` or `rules` must be specified"));
  if (spec.defaultBackend) errs.push(...validateBackend(spec.defaultBackend, "spec.defaultBackend"));
  (spec.rules ?? []).forEach((r, i) => {
    const rp = `spec.rules[${i}]`;
    if (r.host) errs.push(...hostErrors(r.host, `${rp}.host`));
    if (r.http) {
      if (!(r.http.paths ?? []).length) errs.push(fieldRequired(`${rp}.http.paths`));
      (r.http.paths ?? []).forEach((p, j) => errs.push(...pathErrors(p, `${rp}.http.paths[${j}]`)));
    }
  });
  (spec.tls ?? []).forEach((t, i) => {
    (t.hosts ?? []).forEach((h, j) => {
      const hp = `spec.tls[${i}].hosts[${j}]`;
      const msgs = h.includes("*") ? isWildcardDns1123Subdomain(h) : isDns1123Subdomain(h);
      for (const m of msgs) errs.push(fieldInvalid(hp, h, m));
    });
    if (t.secretName) for (const m of isDns1123Subdomain(t.secretName)) errs.push(fieldInvalid(`spec.tls[${i}].secretName`, t.secretName, m));
  });
  if (spec.ingressClassName !== undefined) {
    for (const m of isDns1123Subdomain(spec.ingressClassName)) errs.push(fieldInvalid("spec.ingressClassName", spec.ingressClassName, m));
    // Only new objects: an old Ingress carrying both stays updatable.
    const annotated = ing.metadata.annotations?.[INGRESS_CLASS_ANNOTATION];
    if (!old && annotated !== undefined)
      errs.push(fieldInvalid(`annotations.${INGRESS_CLASS_ANNOTATION}`, annotated, "can not be set when the class field is also set"));
  }
  return errs;
}

/** The hosts column: rule hosts, `*` without any (upstream's formatHosts, at most 4 shown). */
function formatHosts(rules: IngressRule[] | undefined): string {
  const hosts = (rules ?? []).map((r) => r.host).filter((h): h is string => !!h);
  if (!hosts.length) return "*";
  return hosts.length > 4 ? `${hosts.slice(0, 4).join(",")} + ${hosts.length - 4} more...` : hosts.join(",");
}

export const ingressAddresses = (ing: Ingress) =>
  (ing.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname).filter((a): a is string => !!a);

export const ingresses: ResourceDef<Ingress> = {
  ...KINDS.ingresses,
  schema: IngressSchema,
  subresources: ["status"],
  hasStatus: true,
  defaults(ing) {
    ing.spec ??= {};
    ing.status ??= {};
    ing.status.loadBalancer ??= {};
  },
  validate: validateIngress,
  table: {
    columns: [
      nameColumn,
      column("Class", "The name of the IngressClass resource that should be used to select the controller."),
      column("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
      column("Address", "Address is a list containing ingress points for the load-balancer"),
      column("Ports", "Ports of TLS configurations that open"),
      ageColumn,
    ],
    row: (ing, now) => [
      ing.metadata.name,
      ing.spec?.ingressClassName ?? "<none>",
      formatHosts(ing.spec?.rules),
      ingressAddresses(ing).join(","),
      (ing.spec?.tls ?? []).length ? "80, 443" : "80",
      age(ing.metadata.creationTimestamp, now),
    ],
  },
};
