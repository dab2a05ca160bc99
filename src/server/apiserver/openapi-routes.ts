// Serves the OpenAPI documents kubectl downloads before `apply` (v3 first, v2 as a fallback).
// The documents are static per server, so they are built once and served as cached text/bytes.
//
// /openapi/v2 comes in two forms, chosen by Accept as kube-openapi does: JSON, and the gnostic
// protobuf message that kubectl asks for when it validates a `kind: List` on the client. Each
// form has its own ETag (`Vary: Accept`), so kubectl's HTTP cache revalidates with If-None-Match.
import type { Hono } from "hono";
import { createHash } from "node:crypto";
import type { ResourceDef } from "../../api/resource";
import { pathNotFound } from "../../api/errors";
import { openapiV2, openapiV2Json, openapiV3Hash, openapiV3Json, openapiV3Root } from "./openapi";
import { encodeOpenApiV2Document } from "./openapi/v2-protobuf";

const jsonText = (text: string, headers: Record<string, string> = {}) =>
  new Response(text, { headers: { "content-type": "application/json", ...headers } });

/** What kubectl sends; the second spelling is what servers answer with, and is accepted too. */
export const OPENAPI_V2_PROTOBUF_ACCEPT = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf";
export const OPENAPI_V2_PROTOBUF_CONTENT_TYPE = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";
const PROTOBUF_TYPES = new Set([OPENAPI_V2_PROTOBUF_ACCEPT, OPENAPI_V2_PROTOBUF_CONTENT_TYPE]);

/**
 * Whether an Accept header prefers the v2 protobuf form: the media ranges in order of quality
 * (stable for equal q), the first one that is either form decides. Anything else, including no
 * Accept, `*\/*` and unknown types, gets JSON.
 */
export function wantsOpenApiV2Protobuf(accept: string | undefined): boolean {
  if (!accept) return false;
  const ranges = accept
    .split(",")
    .map((part, i) => {
      const [type = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
      const qParam = params.find((p) => p.startsWith("q="));
      const q = qParam ? Number(qParam.slice(2)) : 1;
      return { type, q: Number.isFinite(q) ? q : 0, i };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const { type } of ranges) {
    if (PROTOBUF_TYPES.has(type)) return true;
    if (type === "application/json" || type === "application/*" || type === "*/*") return false;
  }
  return false;
}

interface Representation {
  body: string | Uint8Array;
  contentType: string;
  etag: string;
}

/** Upstream's ETag form: the quoted upper-case hex SHA-512 of the bytes served. */
const etagOf = (body: string | Uint8Array) => `"${createHash("sha512").update(body).digest("hex").toUpperCase()}"`;

/** The two v2 forms, each built on first use and kept for the server's lifetime. */
function v2Representations(resources: ResourceDef[]) {
  let json: Representation | undefined;
  let protobuf: Representation | undefined;
  return {
    json(): Representation {
      if (!json) {
        const body = openapiV2Json(resources);
        json = { body, contentType: "application/json", etag: etagOf(body) };
      }
      return json;
    },
    protobuf(): Representation {
      if (!protobuf) {
        const body = encodeOpenApiV2Document(openapiV2(resources));
        protobuf = { body, contentType: OPENAPI_V2_PROTOBUF_CONTENT_TYPE, etag: etagOf(body) };
      }
      return protobuf;
    },
  };
}

/** If-None-Match: a list of entity tags, or `*`; weak tags compare by their opaque part. */
function matchesIfNoneMatch(header: string | undefined, etag: string): boolean {
  if (!header) return false;
  return header.split(",").some((t) => {
    const tag = t.trim().replace(/^W\//, "");
    return tag === "*" || tag === etag;
  });
}

/** Resources served besides the fixed ones (CustomResourceDefinitions'): `generation` changes with them. */
export interface ChangingResources {
  generation: number;
  served(): ResourceDef[];
}

export function serveOpenApi(app: Hono<any>, fixed: ResourceDef[], changing?: ChangingResources) {
  // The documents are built per list of resources; a new list (a CRD came or went) builds anew.
  let current = { generation: changing?.generation ?? 0, resources: withPublished(fixed, changing), v2: v2Representations(withPublished(fixed, changing)) };
  const now = () => {
    if (changing && changing.generation !== current.generation) {
      const resources = withPublished(fixed, changing);
      current = { generation: changing.generation, resources, v2: v2Representations(resources) };
    }
    return current;
  };
  app.get("/openapi/v2", (c) => {
    const v2 = now().v2;
    const rep = wantsOpenApiV2Protobuf(c.req.header("accept")) ? v2.protobuf() : v2.json();
    const headers = { etag: rep.etag, vary: "Accept", "cache-control": "no-cache, private" };
    if (matchesIfNoneMatch(c.req.header("if-none-match"), rep.etag)) return new Response(null, { status: 304, headers });
    return new Response(rep.body, { headers: { ...headers, "content-type": rep.contentType } });
  });
  app.get("/openapi/v3", () => jsonText(JSON.stringify(openapiV3Root(now().resources))));
  app.get("/openapi/v3/*", (c) => {
    const resources = now().resources;
    const gv = c.req.path.slice("/openapi/v3/".length);
    const text = openapiV3Json(resources, gv);
    if (text === undefined) throw pathNotFound(c.req.path);
    // A request naming the current hash may be cached for good, as upstream allows.
    const immutable = c.req.query("hash") === openapiV3Hash(resources, gv);
    return jsonText(text, immutable ? { "cache-control": "public, immutable, max-age=31536000" } : { "cache-control": "no-cache, private" });
  });
}

/** The fixed resources and the changing ones, each documented by its published schema. */
function withPublished(fixed: ResourceDef[], changing?: ChangingResources): ResourceDef[] {
  if (!changing) return fixed;
  return [...fixed, ...changing.served().map((d) => (d.publishedSchema ? { ...d, schema: d.publishedSchema } : d))];
}
