import { describe, expect, test } from "bun:test";
import { Hono } from "hono";
import { resources } from "../../api/registry";
import { openapiV2, openapiV2Json } from "./openapi";
import { OPENAPI_V2_PROTOBUF_ACCEPT, OPENAPI_V2_PROTOBUF_CONTENT_TYPE, serveOpenApi, wantsOpenApiV2Protobuf } from "./openapi-routes";
import { encodeOpenApiV2Document } from "./openapi/v2-protobuf";

describe("wantsOpenApiV2Protobuf", () => {
  test("what kubectl sends, and the other spelling", () => {
    expect(wantsOpenApiV2Protobuf(OPENAPI_V2_PROTOBUF_ACCEPT)).toBe(true);
    expect(wantsOpenApiV2Protobuf(OPENAPI_V2_PROTOBUF_CONTENT_TYPE)).toBe(true);
    expect(wantsOpenApiV2Protobuf(`application/json;q=0.9, ${OPENAPI_V2_PROTOBUF_ACCEPT}`)).toBe(true);
  });
  test("JSON for everything else, and by quality", () => {
    for (const accept of [undefined, "", "*/*", "application/json", "application/yaml", "application/vnd.kubernetes.protobuf", `application/json, ${OPENAPI_V2_PROTOBUF_ACCEPT}`, `${OPENAPI_V2_PROTOBUF_ACCEPT};q=0.5, application/json`, `${OPENAPI_V2_PROTOBUF_ACCEPT};q=0`])
      expect(wantsOpenApiV2Protobuf(accept)).toBe(false);
  });
});

describe("GET /openapi/v2", () => {
  const app = new Hono();
  serveOpenApi(app, resources);
  const get = (headers: Record<string, string> = {}) => app.request("/openapi/v2", { headers });

  test("protobuf when asked for, with its own ETag; JSON otherwise", async () => {
    const pb = await get({ accept: OPENAPI_V2_PROTOBUF_ACCEPT });
    expect(pb.status).toBe(200);
    expect(pb.headers.get("content-type")).toBe(OPENAPI_V2_PROTOBUF_CONTENT_TYPE);
    expect(pb.headers.get("vary")).toBe("Accept");
    expect(Buffer.compare(Buffer.from(await pb.arrayBuffer()), encodeOpenApiV2Document(openapiV2(resources)))).toBe(0);
    const json = await get({ accept: "application/json" });
    expect(json.headers.get("content-type")).toBe("application/json");
    expect(await json.text()).toBe(openapiV2Json(resources));
    expect(pb.headers.get("etag")).toMatch(/^"[0-9A-F]{128}"$/);
    expect(json.headers.get("etag")).toMatch(/^"[0-9A-F]{128}"$/);
    expect(pb.headers.get("etag")).not.toBe(json.headers.get("etag"));
  });

  test("If-None-Match with the current ETag of that form → 304 without a body; another form's ETag does not match", async () => {
    const pbTag = (await get({ accept: OPENAPI_V2_PROTOBUF_ACCEPT })).headers.get("etag")!;
    const notModified = await get({ accept: OPENAPI_V2_PROTOBUF_ACCEPT, "if-none-match": pbTag });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get("etag")).toBe(pbTag);
    expect(await notModified.text()).toBe("");
    const other = await get({ accept: "application/json", "if-none-match": pbTag });
    expect(other.status).toBe(200);
    expect((await get({ accept: OPENAPI_V2_PROTOBUF_ACCEPT, "if-none-match": `"stale", W/${pbTag}` })).status).toBe(304);
  });
});
