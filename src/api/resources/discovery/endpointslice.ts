// discovery.k8s.io/v1 EndpointSlice: a share of a Service's endpoints (upstream's
// pkg/apis/discovery, its validation and registry strategy). Consumers join every slice labelled
// kubernetes.io/service-name=<service> to get the Service's endpoints.
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import { isIPv4, isIPv6 } from "../../ip";
import { KINDS } from "../../kinds";
import type { KubeObject } from "../../meta";
import type { ResourceDef } from "../../resource";
import { Obj, StringMap, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import {
  fieldDuplicate,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  fieldTooMany,
  isDns1123Label,
  isDns1123Subdomain,
  isQualifiedName,
  isValidLabelValue,
} from "../../validation";
import { Int32, ObjectReferenceSchema } from "../common";
import { specialIPError } from "../core/endpoints";

const Str = () => Type.String();
const Opt = Type.Optional;

export const EndpointConditionsSchema = Obj({
  ready: Opt(Type.Boolean()),
  serving: Opt(Type.Boolean()),
  terminating: Opt(Type.Boolean()),
});

export const EndpointHintsSchema = Obj({
  forZones: Opt(Type.Array(Obj({ name: Str() }))),
});

export const EndpointSchema = Obj({
  addresses: Type.Array(Str()),
  conditions: Opt(EndpointConditionsSchema),
  hostname: Opt(Str()),
  targetRef: Opt(ObjectReferenceSchema),
  /** v1beta1's topology: accepted and dropped, as upstream's v1 API does. */
  deprecatedTopology: Opt(StringMap),
  nodeName: Opt(Str()),
  zone: Opt(Str()),
  hints: Opt(EndpointHintsSchema),
});

export const EndpointSlicePortSchema = Obj({
  name: Opt(Str()),
  protocol: Opt(Str()),
  port: Opt(Int32()),
  appProtocol: Opt(Str()),
});

export const EndpointSliceSchema = TopLevel(
  {
    addressType: Opt(Str()),
    endpoints: Opt(Type.Array(EndpointSchema)),
    ports: Opt(Type.Array(EndpointSlicePortSchema)),
  },
  "EndpointSlice represents a subset of the endpoints that implement a service. For a given service there may be multiple EndpointSlice objects, selected by labels, which must be joined to produce the full set of endpoints.",
);

export type EndpointSlice = Static<typeof EndpointSliceSchema> & KubeObject;
export type SliceEndpoint = Static<typeof EndpointSchema>;
export type EndpointSlicePort = Static<typeof EndpointSlicePortSchema>;

const ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"];
const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const MAX_ENDPOINTS = 1000;
const MAX_ADDRESSES = 100;
// The API reference still says 100; upstream's validation allows 20,000 since 1.21, so a
// Service with more than 100 ports still gets its slices.
const MAX_PORTS = 20000;
const MAX_ZONE_HINTS = 8;

/** upstream's IsFullyQualifiedDomainName: a DNS-1123 subdomain of at least two labels. */
function fqdnErrors(path: string, name: string): FieldError[] {
  if (!name) return [fieldRequired(path)];
  const n = name.endsWith(".") ? name.slice(0, -1) : name;
  const sub = isDns1123Subdomain(n);
  if (sub.length) return [fieldInvalid(path, n, sub.join(","))];
  const labels = n.split(".");
  if (labels.length < 2) return [fieldInvalid(path, n, "should be a domain with at least two segments separated by dots")];
  for (const l of labels) {
    const errs = isDns1123Label(l);
    if (errs.length) return [fieldInvalid(path, l, errs.join(","))];
  }
  return [];
}

function addressErrors(addressType: string | undefined, address: string, path: string): FieldError[] {
  switch (addressType) {
    case "IPv4":
    case "IPv6": {
      const ok = addressType === "IPv4" ? isIPv4(address) : isIPv6(address);
      if (!ok) return [fieldInvalid(path, address, `must be a valid ${addressType} address`)];
      const special = specialIPError(address);
      return special ? [fieldInvalid(path, address, special)] : [];
    }
    case "FQDN":
      return fqdnErrors(path, address);
    default:
      return []; // an unknown type is reported once, on addressType
  }
}

function validateEndpoints(slice: EndpointSlice): FieldError[] {
  const endpoints = slice.endpoints ?? [];
  if (endpoints.length > MAX_ENDPOINTS) return [fieldTooMany("endpoints", endpoints.length, MAX_ENDPOINTS)];
  const errs: FieldError[] = [];
  endpoints.forEach((ep, i) => {
    const p = `endpoints[${i}]`;
    const addresses = ep.addresses ?? [];
    if (addresses.length === 0) errs.push(fieldRequired(`${p}.addresses`, "must contain at least 1 address"));
    else if (addresses.length > MAX_ADDRESSES) errs.push(fieldTooMany(`${p}.addresses`, addresses.length, MAX_ADDRESSES));
    addresses.forEach((a, j) => errs.push(...addressErrors(slice.addressType, a, `${p}.addresses[${j}]`)));
    if (ep.nodeName !== undefined)
      for (const m of isDns1123Subdomain(ep.nodeName)) errs.push(fieldInvalid(`${p}.nodeName`, ep.nodeName, m));
    if (ep.hostname !== undefined) for (const m of isDns1123Label(ep.hostname)) errs.push(fieldInvalid(`${p}.hostname`, ep.hostname, m));
    const zones = ep.hints?.forZones ?? [];
    if (zones.length > MAX_ZONE_HINTS) errs.push(fieldTooMany(`${p}.hints.forZones`, zones.length, MAX_ZONE_HINTS));
    else {
      const seen = new Set<string>();
      zones.forEach((z, j) => {
        const zp = `${p}.hints.forZones[${j}].name`;
        if (seen.has(z.name)) errs.push(fieldDuplicate(zp, z.name));
        seen.add(z.name);
        for (const m of isValidLabelValue(z.name)) errs.push(fieldInvalid(zp, z.name, m));
      });
    }
  });
  return errs;
}

function validatePorts(ports: EndpointSlicePort[]): FieldError[] {
  if (ports.length > MAX_PORTS) return [fieldTooMany("ports", ports.length, MAX_PORTS)];
  const errs: FieldError[] = [];
  const names = new Set<string>();
  ports.forEach((port, i) => {
    const p = `ports[${i}]`;
    const name = port.name ?? "";
    if (name) for (const m of isDns1123Label(name)) errs.push(fieldInvalid(`${p}.name`, name, m));
    if (names.has(name)) errs.push(fieldDuplicate(`${p}.name`, name));
    names.add(name);
    if (port.protocol === undefined) errs.push(fieldRequired(`${p}.protocol`));
    else if (!PROTOCOLS.includes(port.protocol)) errs.push(fieldNotSupported(`${p}.protocol`, port.protocol, PROTOCOLS));
    if (port.appProtocol !== undefined) for (const m of isQualifiedName(port.appProtocol)) errs.push(fieldInvalid(`${p}.appProtocol`, port.appProtocol, m));
  });
  return errs;
}

function validateEndpointSlice(slice: EndpointSlice): FieldError[] {
  const errs: FieldError[] = [];
  if (!slice.addressType) errs.push(fieldRequired("addressType"));
  else if (!ADDRESS_TYPES.includes(slice.addressType)) errs.push(fieldNotSupported("addressType", slice.addressType, ADDRESS_TYPES));
  errs.push(...validateEndpoints(slice), ...validatePorts(slice.ports ?? []));
  return errs;
}

/** upstream's listWithMoreString: up to three items, then "+ N more...", "<unset>" when empty. */
function listWithMore(items: Iterable<string>): string {
  const max = 3;
  const shown: string[] = [];
  let count = 0;
  for (const s of items) {
    if (shown.length < max) shown.push(s);
    count++;
  }
  if (count > max) return `${shown.join(",")} + ${count - max} more...`;
  return shown.length ? shown.join(",") : "<unset>";
}

/** The PORTS column: each port's number ("*" for none, or its name when only that is set). */
export const formatSlicePorts = (ports: EndpointSlicePort[] | undefined) =>
  listWithMore((ports ?? []).map((p) => (p.port !== undefined ? String(p.port) : p.name !== undefined ? p.name : "*")));

/** The ENDPOINTS column: every address of every endpoint. */
export const formatSliceEndpoints = (endpoints: SliceEndpoint[] | undefined) => listWithMore((endpoints ?? []).flatMap((e) => e.addresses ?? []));

export const endpointSlices: ResourceDef<EndpointSlice> = {
  ...KINDS.endpointSlices,
  schema: EndpointSliceSchema,
  subresources: [],
  hasStatus: false,
  defaults(slice) {
    // upstream's SetDefaults_EndpointPort: an unnamed port is named "", the protocol is TCP.
    for (const p of slice.ports ?? []) {
      p.name ??= "";
      p.protocol ??= "TCP";
    }
    for (const ep of slice.endpoints ?? []) delete ep.deprecatedTopology;
  },
  validate: validateEndpointSlice,
  immutable(slice, old) {
    if (slice.addressType !== old.addressType) return [fieldInvalid("addressType", slice.addressType, "field is immutable")];
    return [];
  },
  table: {
    columns: [
      nameColumn,
      column("AddressType", "addressType specifies the type of address carried by this EndpointSlice. All addresses in this slice must be the same type. This field is immutable after creation."),
      column("Ports", "ports specifies the list of network ports exposed by each endpoint in this slice."),
      column("Endpoints", "endpoints is a list of unique endpoints in this slice. Each slice may include a maximum of 1000 endpoints."),
      ageColumn,
    ],
    row: (s, now) => [s.metadata.name, s.addressType ?? "", formatSlicePorts(s.ports), formatSliceEndpoints(s.endpoints), age(s.metadata.creationTimestamp, now)],
  },
};
