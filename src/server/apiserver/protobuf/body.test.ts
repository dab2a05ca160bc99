// parseBody hands protobuf bodies to the decoder, within the same size limit as JSON.
import { describe, expect, test } from "bun:test";
import { ApiError } from "../../../api/errors";
import { MAX_BODY_BYTES, parseBody } from "../body";

const PROTOBUF = "application/vnd.kubernetes.protobuf";
// "k8s\0" + Unknown{typeMeta{v1, Namespace}, raw: Namespace{metadata{name: x}}}
const NAMESPACE = Uint8Array.from([
  0x6b, 0x38, 0x73, 0x00,
  0x0a, 0x0f, 0x0a, 0x02, 0x76, 0x31, 0x12, 0x09, ...new TextEncoder().encode("Namespace"),
  0x12, 0x05, 0x0a, 0x03, 0x0a, 0x01, 0x78,
]);

const request = (body: Uint8Array | string, contentType = PROTOBUF) =>
  new Request("http://localhost/api/v1/namespaces", { method: "POST", headers: { "content-type": `${contentType}; charset=binary` }, body });

const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as ApiError);

describe("parseBody with Kubernetes protobuf", () => {
  test("decodes to the JSON form", async () => {
    expect(await parseBody(request(NAMESPACE))).toEqual({ apiVersion: "v1", kind: "Namespace", metadata: { name: "x" } });
  });

  test("JSON and YAML bodies are unchanged", async () => {
    expect(await parseBody(request('{"kind":"Namespace"}', "application/json"))).toEqual({ kind: "Namespace" });
    expect(await parseBody(request("kind: Namespace\n", "application/yaml"))).toEqual({ kind: "Namespace" });
  });

  test("a JSON body sent as protobuf is a 400", async () => {
    expect((await failure(parseBody(request('{"kind":"Namespace"}'))))?.code).toBe(400);
  });

  test("the size limit applies", async () => {
    const big = new Uint8Array(MAX_BODY_BYTES + 1);
    big.set(NAMESPACE);
    expect((await failure(parseBody(request(big))))?.code).toBe(413);
  });

  test("a caller can still refuse protobuf", async () => {
    expect((await failure(parseBody(request(NAMESPACE), ["application/json"])))?.code).toBe(415);
  });
});
