// Serves the OpenAPI documents kubectl downloads before `apply` (v3 first, v2 as a fallback).
// The documents are static per server, so they are built once and served as cached JSON text.
import type { Hono } from "hono";
import type { ResourceDef } from "../../api/resource";
import { pathNotFound } from "../../api/errors";
import { openapiV2Json, openapiV3Hash, openapiV3Json, openapiV3Root } from "./openapi";

const jsonText = (text: string, headers: Record<string, string> = {}) =>
  new Response(text, { headers: { "content-type": "application/json", ...headers } });

export function serveOpenApi(app: Hono<any>, resources: ResourceDef[]) {
  app.get("/openapi/v2", () => jsonText(openapiV2Json(resources)));
  app.get("/openapi/v3", () => jsonText(JSON.stringify(openapiV3Root(resources))));
  app.get("/openapi/v3/*", (c) => {
    const gv = c.req.path.slice("/openapi/v3/".length);
    const text = openapiV3Json(resources, gv);
    if (text === undefined) throw pathNotFound(c.req.path);
    // A request naming the current hash may be cached for good, as upstream allows.
    const immutable = c.req.query("hash") === openapiV3Hash(resources, gv);
    return jsonText(text, immutable ? { "cache-control": "public, immutable, max-age=31536000" } : { "cache-control": "no-cache, private" });
  });
}
