// Kubernetes protobuf request bodies (Content-Type application/vnd.kubernetes.protobuf), as
// kubectl's typed clients send them: the magic "k8s\0", then a runtime.Unknown whose typeMeta
// names the kind and whose raw bytes are the object in its generated.proto message. Decoded to
// the object's JSON form, so everything after body parsing sees what a JSON client would send.
import { apiVersionOf, KINDS, REVIEW_KINDS, SUBRESOURCE_KINDS } from "../../../api/kinds";
import { resources, servedResources } from "../../../api/registry";
import type { ResourceDef } from "../../../api/resource";
import { decodeMessage, knowsMessage, type DecodeHooks } from "./decode";
import { assertSchemasBound, messageKeyOf } from "./schemas";
import { malformed, Reader, WIRE_LEN } from "./wire";

export const PROTOBUF_MEDIA_TYPE = "application/vnd.kubernetes.protobuf";

const MAGIC = [0x6b, 0x38, 0x73, 0x00];

/** Every served kind in every version it is served in. */
const SERVED = servedResources(resources);

/** Everything a request body may be: the served kinds, the bodies of subresources, the reviews. */
const BODY_KINDS = [...Object.values(KINDS), ...SERVED.filter((d) => d.servedAs), ...Object.values(SUBRESOURCE_KINDS), ...Object.values(REVIEW_KINDS)];

/** apiVersion → the message package its kinds live in. */
const PACKAGES: Record<string, string> = {
  ...Object.fromEntries(BODY_KINDS.map((k) => [apiVersionOf(k), k.protobufPackage])),
  "meta.k8s.io/v1": "meta",
};

/** Option kinds upstream registers in every group version (client-go sends its client's one). */
const META_KINDS = new Set(["DeleteOptions"]);

/** The kinds a request body may hold: the served kinds and the bodies of subresources and deletes. */
const TOP_LEVEL = new Set([...BODY_KINDS.map((k) => `${k.protobufPackage}.${k.kind}`), "meta.DeleteOptions"]);

// Once, at start: every served kind's schema field has its protobuf field, or the server stops
// here instead of dropping that field from every protobuf body.
assertSchemasBound(SERVED, PACKAGES);

/** The message a served kind is written in ("core.Pod"). */
export const messageOf = (def: Pick<ResourceDef, "group" | "version" | "kind">) => messageKeyOf(def, PACKAGES);

const hooks: DecodeHooks = { embedded: (bytes, depth) => decodeEnvelope(bytes, depth) };

export function decodeKubernetesProtobuf(body: Uint8Array): Record<string, unknown> {
  return decodeEnvelope(body, 0);
}

function decodeEnvelope(body: Uint8Array, depth: number): Record<string, unknown> {
  if (body.length < MAGIC.length || MAGIC.some((b, i) => body[i] !== b))
    throw malformed('the body does not start with the Kubernetes protobuf prefix "k8s\\0"');
  const r = new Reader(body, MAGIC.length);
  let apiVersion = "", kind = "", contentEncoding = "";
  let raw: Uint8Array | undefined;
  while (!r.done) {
    const { field, wire } = r.tag();
    if (field >= 1 && field <= 4 && wire !== WIRE_LEN) throw malformed(`runtime.Unknown field ${field} has wire type ${wire}`);
    if (field === 1) ({ apiVersion, kind } = readTypeMeta(r.bytes()));
    else if (field === 2) raw = r.bytes();
    else if (field === 3) contentEncoding = r.string();
    else r.skip(wire); // 4: contentType, informational
  }
  if (contentEncoding !== "") throw malformed(`unsupported contentEncoding "${contentEncoding}"`);
  if (!kind) throw malformed("the object has no kind");
  const pkg = META_KINDS.has(kind) ? "meta" : PACKAGES[apiVersion];
  const key = `${pkg}.${kind}`;
  if (!pkg || !TOP_LEVEL.has(key) || !knowsMessage(key)) throw malformed(`no protobuf decoding for ${apiVersion || "<no apiVersion>"}, Kind=${kind}`);
  const obj = decodeMessage(raw ?? new Uint8Array(0), key, hooks, depth) as Record<string, unknown>;
  return { apiVersion, kind, ...obj };
}

function readTypeMeta(buf: Uint8Array): { apiVersion: string; kind: string } {
  const r = new Reader(buf);
  let apiVersion = "", kind = "";
  while (!r.done) {
    const { field, wire } = r.tag();
    if ((field === 1 || field === 2) && wire !== WIRE_LEN) throw malformed(`typeMeta field ${field} has wire type ${wire}`);
    if (field === 1) apiVersion = r.string();
    else if (field === 2) kind = r.string();
    else r.skip(wire);
  }
  return { apiVersion, kind };
}
