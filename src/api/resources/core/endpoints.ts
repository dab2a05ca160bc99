import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { Obj, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import {
  fieldDuplicate,
  fieldInvalid,
  fieldNotSupported,
  fieldRequired,
  isDns1123Label,
  isDns1123Subdomain,
} from "../../validation";
import { isIP, isIPv4 } from "../../ip";
import { Int32, ObjectReferenceSchema } from "../common";

const Str = () => Type.String();
const Opt = Type.Optional;

export const EndpointAddressSchema = Obj({
  ip: Str(),
  hostname: Opt(Str()),
  nodeName: Opt(Str()),
  targetRef: Opt(ObjectReferenceSchema),
});

export const EndpointPortSchema = Obj({
  name: Opt(Str()),
  port: Int32(),
  protocol: Opt(Str()),
  appProtocol: Opt(Str()),
});

export const EndpointSubsetSchema = Obj({
  addresses: Opt(Type.Array(EndpointAddressSchema)),
  notReadyAddresses: Opt(Type.Array(EndpointAddressSchema)),
  ports: Opt(Type.Array(EndpointPortSchema)),
});

export const EndpointsSchema = TopLevel(
  { subsets: Opt(Type.Array(EndpointSubsetSchema)) },
  "Endpoints is a collection of endpoints that implement the actual service.",
);

export type EndpointAddress = Static<typeof EndpointAddressSchema>;
export type EndpointSubset = Static<typeof EndpointSubsetSchema>;
export type Endpoints = Static<typeof EndpointsSchema> & KubeObject;

const PROTOCOLS = ["SCTP", "TCP", "UDP"];

/** Loopback, link-local, unspecified and multicast addresses cannot be endpoints. */
export function specialIPError(ip: string): string | undefined {
  if (isIPv4(ip)) {
    const [a, b] = ip.split(".").map(Number);
    if (ip === "0.0.0.0") return "may not be unspecified (0.0.0.0)";
    if (a === 127) return "may not be in the loopback range (127.0.0.0/8, ::1/128)";
    if (a === 169 && b === 254) return "may not be in the link-local range (169.254.0.0/16, fe80::/10)";
    if (a >= 224 && a <= 239) return "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)";
    return undefined;
  }
  const l = ip.toLowerCase();
  if (l === "::") return "may not be unspecified (::)";
  if (l === "::1") return "may not be in the loopback range (127.0.0.0/8, ::1/128)";
  if (/^fe[89ab]/.test(l)) return "may not be in the link-local range (169.254.0.0/16, fe80::/10)";
  return undefined;
}

function validateAddress(a: EndpointAddress, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isIP(a.ip)) errs.push(fieldInvalid(`${path}.ip`, a.ip, "must be a valid IP address"));
  else {
    const special = specialIPError(a.ip);
    if (special) errs.push(fieldInvalid(`${path}.ip`, a.ip, special));
  }
  if (a.hostname) errs.push(...isDns1123Label(a.hostname).map((m) => fieldInvalid(`${path}.hostname`, a.hostname, m)));
  if (a.nodeName) errs.push(...isDns1123Subdomain(a.nodeName).map((m) => fieldInvalid(`${path}.nodeName`, a.nodeName, m)));
  return errs;
}

function validateEndpoints(ep: Endpoints): FieldError[] {
  const errs: FieldError[] = [];
  (ep.subsets ?? []).forEach((ss, i) => {
    const p = `subsets[${i}]`;
    if (!(ss.addresses ?? []).length && !(ss.notReadyAddresses ?? []).length)
      errs.push(fieldRequired(p, "must specify `addresses` or `notReadyAddresses`"));
    (ss.addresses ?? []).forEach((a, j) => errs.push(...validateAddress(a, `${p}.addresses[${j}]`)));
    (ss.notReadyAddresses ?? []).forEach((a, j) => errs.push(...validateAddress(a, `${p}.notReadyAddresses[${j}]`)));
    const ports = ss.ports ?? [];
    const names = new Set<string>();
    ports.forEach((port, j) => {
      const pp = `${p}.ports[${j}]`;
      if (ports.length > 1 || port.name) {
        if (!port.name) errs.push(fieldRequired(`${pp}.name`));
        else {
          errs.push(...isDns1123Label(port.name).map((m) => fieldInvalid(`${pp}.name`, port.name, m)));
          if (names.has(port.name)) errs.push(fieldDuplicate(`${pp}.name`, port.name));
          names.add(port.name);
        }
      }
      if (port.port < 1 || port.port > 65535) errs.push(fieldInvalid(`${pp}.port`, port.port, "must be between 1 and 65535, inclusive"));
      if (port.protocol === undefined || port.protocol === "") errs.push(fieldRequired(`${pp}.protocol`));
      else if (!PROTOCOLS.includes(port.protocol)) errs.push(fieldNotSupported(`${pp}.protocol`, port.protocol, PROTOCOLS));
    });
  });
  return errs;
}

/** formatEndpoints: up to three "ip:port" entries, then "+ N more...". */
export function formatEndpoints(ep: Endpoints): string {
  const subsets = ep.subsets ?? [];
  if (subsets.length === 0) return "<none>";
  const max = 3;
  const list: string[] = [];
  let more = false;
  let count = 0;
  const join = (ip: string, port: number) => (ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`);
  for (const ss of subsets) {
    const addrs = ss.addresses ?? [];
    const ports = ss.ports ?? [];
    if (ports.length === 0) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(a.ip);
      }
      continue;
    }
    for (const port of ports) {
      count += addrs.length;
      for (const a of addrs) {
        if (list.length === max) {
          more = true;
          break;
        }
        list.push(join(a.ip, port.port));
      }
    }
  }
  const s = list.join(",");
  return more ? `${s} + ${count - max} more...` : s;
}

export const endpoints: ResourceDef<Endpoints> = {
  ...KINDS.endpoints,
  schema: EndpointsSchema,
  subresources: [],
  hasStatus: false,
  defaults(ep) {
    for (const ss of ep.subsets ?? []) for (const p of ss.ports ?? []) p.protocol ??= "TCP";
  },
  validate: validateEndpoints,
  table: {
    columns: [
      nameColumn,
      column("Endpoints", "The set of all endpoints is the union of all subsets."),
      ageColumn,
    ],
    row: (ep, now) => [ep.metadata.name, formatEndpoints(ep), age(ep.metadata.creationTimestamp, now)],
  },
};
