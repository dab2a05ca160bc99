// networking.k8s.io/v1 NetworkPolicy: which traffic may reach (ingress) and leave (egress) the pods
// its podSelector selects, as upstream's pkg/apis/networking (defaults, ValidateNetworkPolicy).
// Every agent enforces them in iptables (src/agent/netpol).
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import { isCIDR } from "../../ip";
import { KINDS } from "../../kinds";
import type { KubeObject } from "../../meta";
import type { ResourceDef } from "../../resource";
import { IntOrString, LabelSelectorSchema, Obj, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldForbidden, fieldInvalid, fieldNotSupported, fieldRequired, isValidPortName, isValidPortNumber, validateLabelSelector } from "../../validation";
import { Int32 } from "../common";
import { formatLabelSelector } from "../common";

const Str = () => Type.String();
const Opt = Type.Optional;

export const IPBlockSchema = Obj({ cidr: Str(), except: Opt(Type.Array(Str())) }, { title: "IPBlock" });
export const NetworkPolicyPeerSchema = Obj(
  { podSelector: Opt(LabelSelectorSchema), namespaceSelector: Opt(LabelSelectorSchema), ipBlock: Opt(IPBlockSchema) },
  { title: "NetworkPolicyPeer" },
);
export const NetworkPolicyPortSchema = Obj({ protocol: Opt(Str()), port: Opt(IntOrString), endPort: Opt(Int32()) }, { title: "NetworkPolicyPort" });
export const NetworkPolicySpecSchema = Obj({
  podSelector: Opt(LabelSelectorSchema),
  ingress: Opt(Type.Array(Obj({ ports: Opt(Type.Array(NetworkPolicyPortSchema)), from: Opt(Type.Array(NetworkPolicyPeerSchema)) }, { title: "NetworkPolicyIngressRule" }))),
  egress: Opt(Type.Array(Obj({ ports: Opt(Type.Array(NetworkPolicyPortSchema)), to: Opt(Type.Array(NetworkPolicyPeerSchema)) }, { title: "NetworkPolicyEgressRule" }))),
  policyTypes: Opt(Type.Array(Str())),
});

export const NetworkPolicySchema = TopLevel(
  { spec: Opt(NetworkPolicySpecSchema) },
  "NetworkPolicy describes what network traffic is allowed for a set of Pods",
);

export type NetworkPolicy = Static<typeof NetworkPolicySchema> & KubeObject;
export type NetworkPolicySpec = Static<typeof NetworkPolicySpecSchema>;
export type NetworkPolicyPeer = Static<typeof NetworkPolicyPeerSchema>;
export type NetworkPolicyPort = Static<typeof NetworkPolicyPortSchema>;

const PROTOCOLS = ["TCP", "UDP", "SCTP"];
const POLICY_TYPES = ["Ingress", "Egress"];

/** Upstream's SetDefaults_NetworkPolicy and SetDefaults_NetworkPolicyPort. */
export function defaultNetworkPolicy(np: NetworkPolicy) {
  np.spec ??= {};
  np.spec.podSelector ??= {};
  for (const r of [...(np.spec.ingress ?? []), ...(np.spec.egress ?? [])]) for (const p of r.ports ?? []) p.protocol ??= "TCP";
  if (!np.spec.policyTypes?.length) np.spec.policyTypes = np.spec.egress?.length ? ["Ingress", "Egress"] : ["Ingress"];
}

function portErrors(p: NetworkPolicyPort, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (p.protocol !== undefined && !PROTOCOLS.includes(p.protocol)) errs.push(fieldNotSupported(`${path}.protocol`, p.protocol, PROTOCOLS));
  if (p.port !== undefined) {
    if (typeof p.port === "number") {
      for (const m of isValidPortNumber(p.port)) errs.push(fieldInvalid(`${path}.port`, p.port, m));
      if (p.endPort !== undefined) {
        if (p.endPort < p.port) errs.push(fieldInvalid(`${path}.endPort`, p.port, "must be greater than or equal to `port`"));
        for (const m of isValidPortNumber(p.endPort)) errs.push(fieldInvalid(`${path}.endPort`, p.endPort, m));
      }
    } else {
      if (p.endPort !== undefined) errs.push(fieldInvalid(`${path}.endPort`, p.endPort, "may not be specified when `port` is non-numeric"));
      for (const m of isValidPortName(p.port)) errs.push(fieldInvalid(`${path}.port`, p.port, m));
    }
  } else if (p.endPort !== undefined) errs.push(fieldInvalid(`${path}.endPort`, p.endPort, "may not be specified when `port` is not specified"));
  return errs;
}

const CIDR_MSG = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

/** An IPv4 CIDR as [network, prefix] (host bits cleared); undefined for IPv6 or junk. */
export function parseCidr4(s: string): [number, number] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(s);
  if (!m) return undefined;
  const bits = Number(m[5]);
  const octets = m.slice(1, 5).map(Number);
  if (bits > 32 || octets.some((o) => o > 255)) return undefined;
  const ip = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return [(ip & mask) >>> 0, bits];
}

function ipBlockErrors(b: { cidr?: string; except?: string[] }, path: string): FieldError[] {
  if (!b.cidr) return [fieldRequired(`${path}.cidr`)];
  const errs: FieldError[] = [];
  if (!isCIDR(b.cidr)) errs.push(fieldInvalid(`${path}.cidr`, b.cidr, CIDR_MSG));
  const outer = parseCidr4(b.cidr);
  (b.except ?? []).forEach((e, i) => {
    const p = `${path}.except[${i}]`;
    if (!isCIDR(e)) {
      errs.push(fieldInvalid(p, e, CIDR_MSG));
      return;
    }
    const inner = parseCidr4(e);
    if (!outer || !inner) return;
    const mask = outer[1] === 0 ? 0 : (0xffffffff << (32 - outer[1])) >>> 0;
    if (((inner[0] & mask) >>> 0) !== outer[0] || outer[1] >= inner[1]) errs.push(fieldInvalid(p, e, "must be a strict subset of `cidr`"));
  });
  return errs;
}

function peerErrors(peer: NetworkPolicyPeer, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let n = 0;
  if (peer.podSelector) {
    n++;
    errs.push(...validateLabelSelector(peer.podSelector, `${path}.podSelector`));
  }
  if (peer.namespaceSelector) {
    n++;
    errs.push(...validateLabelSelector(peer.namespaceSelector, `${path}.namespaceSelector`));
  }
  if (peer.ipBlock) {
    n++;
    errs.push(...ipBlockErrors(peer.ipBlock, `${path}.ipBlock`));
  }
  if (n === 0) errs.push(fieldRequired(path, "must specify a peer"));
  else if (n > 1 && peer.ipBlock) errs.push(fieldForbidden(path, "may not specify both ipBlock and another peer"));
  return errs;
}

/** Upstream's ValidateNetworkPolicySpec (metadata is the object layer's). */
export function validateNetworkPolicy(np: NetworkPolicy): FieldError[] {
  const spec = np.spec ?? {};
  const errs: FieldError[] = [...validateLabelSelector(spec.podSelector, "spec.podSelector")];
  (spec.ingress ?? []).forEach((r, i) => {
    (r.ports ?? []).forEach((p, j) => errs.push(...portErrors(p, `spec.ingress[${i}].ports[${j}]`)));
    (r.from ?? []).forEach((p, j) => errs.push(...peerErrors(p, `spec.ingress[${i}].from[${j}]`)));
  });
  (spec.egress ?? []).forEach((r, i) => {
    (r.ports ?? []).forEach((p, j) => errs.push(...portErrors(p, `spec.egress[${i}].ports[${j}]`)));
    (r.to ?? []).forEach((p, j) => errs.push(...peerErrors(p, `spec.egress[${i}].to[${j}]`)));
  });
  const types = spec.policyTypes ?? [];
  if (types.length > POLICY_TYPES.length) {
    errs.push(fieldInvalid("spec.policyTypes", types, "may not specify more than two policyTypes"));
    return errs;
  }
  types.forEach((t, i) => {
    if (!POLICY_TYPES.includes(t)) errs.push(fieldNotSupported(`spec.policyTypes[${i}]`, t, POLICY_TYPES));
  });
  return errs;
}

export const networkPolicies: ResourceDef<NetworkPolicy> = {
  ...KINDS.networkPolicies,
  schema: NetworkPolicySchema,
  subresources: [],
  hasStatus: false,
  defaults: defaultNetworkPolicy,
  validate: validateNetworkPolicy,
  table: {
    columns: [nameColumn, column("Pod-Selector", "Pod-Selector is a label query over pods that should be selected by this NetworkPolicy"), ageColumn],
    row: (np, now) => [np.metadata.name, formatLabelSelector(np.spec?.podSelector), age(np.metadata.creationTimestamp, now)],
  },
};
