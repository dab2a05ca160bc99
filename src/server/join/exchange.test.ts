import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiError } from "../../api/errors";
import { createLogger } from "../../machinery/log";
import { formatToken, generateToken, tokenSecret } from "../auth/bootstrap-token";
import { createNodeAuthenticator } from "../auth/node-credentials";
import { startTestApi, type TestApi } from "../apiserver/testing";
import { exchangeToken } from "./exchange";
import { readJoinBody } from "./routes";
import { serverNodeCredential } from "./server-node";
import { ensureServerToken } from "./server-token";

const log = createLogger("test");
const dir = mkdtempSync(join(tmpdir(), "bramble-exchange-"));
let t: TestApi;
let token: string;
const ctx = () => t.api.context;
const serverToken = ensureServerToken(dir, `sha256:${"ab".repeat(32)}`, "the-server-secret");

beforeAll(async () => {
  t = await startTestApi();
  const b = generateToken();
  expect((await t.call("POST", "/api/v1/namespaces/kube-system/secrets", tokenSecret(b, { ttlSeconds: 600 }))).status).toBe(201);
  token = formatToken(b);
});
afterAll(async () => {
  await t.stop();
  rmSync(dir, { recursive: true, force: true });
});

const refusal = async (p: Promise<unknown>) => {
  try {
    await p;
  } catch (e) {
    return e as ApiError;
  }
  throw new Error("not refused");
};
const secret = (ns: string, name: string) => ctx().objects.tryGet(ctx().resource("", "secrets"), ns, name) as any;
const authenticate = createNodeAuthenticator(secret);

test("a registered Node's name is refused even without a credential Secret (e.g. a Node an admin created)", async () => {
  expect((await t.call("POST", "/api/v1/nodes", { apiVersion: "v1", kind: "Node", metadata: { name: "made-by-admin" } })).status).toBe(201);
  const e = await refusal(exchangeToken(ctx(), { token, nodeName: "made-by-admin" }, log));
  expect(e.code).toBe(409);
  expect(e.message).toContain('a node named "made-by-admin" has already joined this cluster');
});

test("the server's own node name is refused from its first start, before its Node registers; its credential is reused, and renewed once revoked", async () => {
  const o = { dataDir: dir, nodeName: "the-server", serverUrl: "https://127.0.0.1:6443", caCertPem: "" };
  const first = await serverNodeCredential(ctx(), o);
  expect(first.issued).toBe(true);
  expect(authenticate(first.token)).toEqual({ user: "system:node:the-server", groups: ["system:nodes", "system:authenticated"] });
  for (const t of [token, "the-server-secret"]) expect((await refusal(exchangeToken(ctx(), { token: t, nodeName: "the-server" }, log, serverToken))).code).toBe(409);
  expect(await serverNodeCredential(ctx(), o)).toEqual({ token: first.token, issued: false });
  // An admin deletes the Secret: the credential is revoked at once, and the next start issues another.
  expect((await t.call("DELETE", "/api/v1/namespaces/kube-system/secrets/node-credential-the-server")).status).toBe(200);
  expect(authenticate(first.token)).toBeUndefined();
  const renewed = await serverNodeCredential(ctx(), o);
  expect(renewed.issued).toBe(true);
  expect(renewed.token).not.toBe(first.token);
});

test("a node that proves its credential gets it back; without the Node, a new joiner gets a new one that revokes the old", async () => {
  const a = await exchangeToken(ctx(), { token, nodeName: "n1" }, log);
  expect((await exchangeToken(ctx(), { token, nodeName: "n1", credential: a.token }, log)).token).toBe(a.token);
  const b = await exchangeToken(ctx(), { token, nodeName: "n1" }, log); // no Node registered: the name is free
  expect(b.token).not.toBe(a.token);
  expect(authenticate(a.token)).toBeUndefined();
  expect(authenticate(b.token)?.user).toBe("system:node:n1");
});

test("the server token joins; a wrong one, or none configured, is a 401", async () => {
  expect((await exchangeToken(ctx(), { token: "the-server-secret", nodeName: "by-secret" }, log, serverToken)).nodeName).toBe("by-secret");
  for (const [presented, st] of [["wrong", serverToken], ["the-server-secret", undefined]] as const) {
    const e = await refusal(exchangeToken(ctx(), { token: presented, nodeName: "x" }, log, st));
    expect(e.toStatus()).toMatchObject({ code: 401, reason: "Unauthorized", message: "the server token is not valid for this cluster" });
  }
  const e = await refusal(exchangeToken(ctx(), { token: "zzzzzz.0000000000000000", nodeName: "x" }, log, serverToken));
  expect(e.message).toBe('bootstrap token "zzzzzz" is not valid for this cluster or has expired');
});

test("the body: refused by its Content-Length before a byte is read; a chunked one cut at the limit; a slow one at its deadline", async () => {
  let pulls = 0;
  const stream = (chunks: number, size: number, delayMs = 0) =>
    new ReadableStream<Uint8Array>({
      async pull(c) {
        pulls++;
        if (delayMs) await Bun.sleep(delayMs);
        if (pulls > chunks) c.close();
        else c.enqueue(new Uint8Array(size).fill(0x61));
      },
    });
  const req = (body: ReadableStream<Uint8Array>, headers: Record<string, string> = {}) => new Request("https://x/", { method: "POST", body, headers, duplex: "half" } as RequestInit);
  const declared = await refusal(readJoinBody(req(stream(1000, 1024), { "content-length": String(50 * 1024 * 1024) })));
  expect(declared.toStatus()).toMatchObject({ code: 413, reason: "RequestEntityTooLarge" });
  expect(pulls).toBeLessThanOrEqual(1); // a stream may be primed once; never read on
  pulls = 0;
  expect((await refusal(readJoinBody(req(stream(1000, 1024))))).code).toBe(413);
  expect(pulls).toBe(17); // 16 KiB in 1 KiB chunks, and the one past the limit
  expect((await refusal(readJoinBody(req(new ReadableStream({ pull: () => Bun.sleep(10_000) })), 16 * 1024, 50))).toStatus()).toMatchObject({ code: 408, reason: "Timeout" });
  expect((await refusal(readJoinBody(req(stream(1, 1), { "content-length": "abc" })))).code).toBe(400);
  pulls = 0;
  expect(await readJoinBody(req(stream(2, 3)))).toBe("aaaaaa");
});
