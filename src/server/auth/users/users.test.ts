import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt, SignJWT } from "jose";
import type { Secret } from "../../../api/resources/core/secret";
import { ADMIN } from "../authenticator";
import { createServiceAccountAuthenticator, generateServiceAccountKey, SERVICE_ACCOUNT_ISSUER, tokenSigner } from "../serviceaccount/index";
import { createUserCredentialAuthenticator, ensureUserCredentialKey, generateUserCredentialKey, nameProblem, userCredentialKeyPath, userCredentialsResponse, USER_CREDENTIALS_PATH, type CredentialRecords, type IssuedCredential } from "./index";

function memoryRecords() {
  const m = new Map<string, Secret>();
  let rv = 0;
  const records: CredentialRecords = {
    list: () => [...m.values()],
    get: (n) => m.get(n),
    create: async (s) => void m.set(s.metadata.name!, { ...s, metadata: { ...s.metadata, namespace: "kube-system", uid: `uid-${++rv}`, resourceVersion: String(rv) } }),
    update: async (s) => void m.set(s.metadata.name!, { ...s, metadata: { ...s.metadata, resourceVersion: String(++rv) } }),
    delete: async (n) => void m.delete(n),
  };
  return { m, records };
}

async function fixture() {
  const key = await generateUserCredentialKey();
  const { m, records } = memoryRecords();
  let t = Date.parse("2026-01-01T00:00:00Z");
  const now = () => t;
  const call = async (method: string, path: string, body?: unknown, user = ADMIN) => {
    const res = await userCredentialsResponse({ key, records: () => records, now }, new Request(`https://x${USER_CREDENTIALS_PATH}${path}`, { method, body: body === undefined ? undefined : JSON.stringify(body) }), user);
    return { status: res.status, body: (await res.json()) as any };
  };
  const auth = createUserCredentialAuthenticator(key, { getRecord: (id) => m.get(`user-credential-${id}`) }, { now });
  return { key, m, call, auth, advance: (ms: number) => (t += ms), now };
}

describe("user credentials", () => {
  test("a minted token authenticates as its user and groups, with its own issuer and audience", async () => {
    const f = await fixture();
    const { status, body } = await f.call("POST", "", { user: "alice", groups: ["family"], ttlSeconds: 3600 });
    expect(status).toBe(201);
    const c = body as IssuedCredential;
    expect(c.id).toMatch(/^[0-9a-f]{16}$/);
    expect(c.groups).toEqual(["family", "system:authenticated"]);
    expect(c.expires).toBe("2026-01-01T01:00:00Z");
    const claims = decodeJwt(c.token);
    expect(claims).toMatchObject({ iss: "bramble:user-credentials", aud: "bramble:api", sub: "alice", jti: c.id });
    expect(await f.auth(c.token)).toEqual({ user: "alice", groups: ["family", "system:authenticated"] });
    expect(f.m.get(`user-credential-${c.id}`)?.type).toBe("bramble.io/user-credential");
    expect(JSON.stringify(f.m.get(`user-credential-${c.id}`))).not.toContain(c.token.split(".")[2]!);
  });

  test("expiry: refused from the expiry second on", async () => {
    const f = await fixture();
    const c = (await f.call("POST", "", { user: "bob", groups: [], ttlSeconds: 2 })).body as IssuedCredential;
    expect(await f.auth(c.token)).toEqual({ user: "bob", groups: ["system:authenticated"] });
    f.advance(2000);
    expect(await f.auth(c.token)).toBeUndefined();
  });

  test("revocation by user and by id takes effect on the next request; deleting the record too", async () => {
    const f = await fixture();
    const a1 = (await f.call("POST", "", { user: "alice", groups: [], ttlSeconds: 60 })).body as IssuedCredential;
    const a2 = (await f.call("POST", "", { user: "alice", groups: ["x"], ttlSeconds: 60 })).body as IssuedCredential;
    const b = (await f.call("POST", "", { user: "bob", groups: [], ttlSeconds: 60 })).body as IssuedCredential;
    const c = (await f.call("POST", "", { user: "carol", groups: [], ttlSeconds: 60 })).body as IssuedCredential;
    for (const t of [a1, a2, b, c]) expect(await f.auth(t.token)).toBeDefined();
    const byUser = await f.call("POST", "/revoke", { user: "alice" });
    expect(byUser.status).toBe(200);
    expect(byUser.body.items.map((i: IssuedCredential) => i.id).sort()).toEqual([a1.id, a2.id].sort());
    expect(await f.auth(a1.token)).toBeUndefined();
    expect(await f.auth(a2.token)).toBeUndefined();
    expect(await f.auth(b.token)).toBeDefined();
    expect((await f.call("POST", "/revoke", { id: b.id })).status).toBe(200);
    expect(await f.auth(b.token)).toBeUndefined();
    f.m.delete(`user-credential-${c.id}`);
    expect(await f.auth(c.token)).toBeUndefined();
    const list = (await f.call("GET", "")).body.items as IssuedCredential[];
    expect(list.map((i) => [i.user, !!i.revoked])).toEqual([["alice", true], ["alice", true], ["bob", true]]);
    expect(list.every((i) => !("token" in i))).toBe(true);
    expect((await f.call("POST", "/revoke", { user: "nobody" })).body.message).toBe('no credentials issued to user "nobody"');
    expect((await f.call("POST", "/revoke", { id: "0000000000000000" })).status).toBe(404);
    expect((await f.call("POST", "/revoke", { user: "a", id: "b" })).status).toBe(400);
  });

  test("reserved system: names need force; bad names and ttls are refused with a reason", async () => {
    expect(nameProblem("user", "system:admin", false)).toContain('"system:admin" is reserved');
    expect(nameProblem("user", "system:admin", true)).toBeUndefined();
    expect(nameProblem("group", "system:masters", false)).toContain("reserved");
    expect(nameProblem("group", "system:authenticated", false)).toBeUndefined();
    expect(nameProblem("user", "", false)).toContain("empty");
    expect(nameProblem("user", " alice", false)).toContain("printable");
    expect(nameProblem("user", "al\nice", false)).toContain("printable");
    expect(nameProblem("user", "Alice Smith", false)).toBeUndefined();
    const f = await fixture();
    for (const bad of [{ user: "system:node:n1", groups: [], ttlSeconds: 60 }, { user: "a", groups: ["system:masters"], ttlSeconds: 60 }, { user: "a", groups: [], ttlSeconds: 0 }, { user: "a", groups: "g", ttlSeconds: 60 }, { groups: [], ttlSeconds: 60 }]) {
      const r = await f.call("POST", "", bad);
      expect(r.status).toBe(400);
      expect(r.body.reason).toBe("BadRequest");
    }
    expect(f.m.size).toBe(0);
    expect((await f.call("POST", "", { user: "root", groups: ["system:masters"], ttlSeconds: 60, force: true })).status).toBe(201);
  });

  test("only the cluster admin may mint, list or revoke", async () => {
    const f = await fixture();
    const r = await f.call("POST", "", { user: "alice", groups: [], ttlSeconds: 60 }, { user: "alice", groups: ["system:authenticated"] });
    expect(r.status).toBe(403);
    expect(r.body.message).toBe('User "alice" cannot manage user credentials: only the cluster admin can');
    expect((await f.call("GET", "", undefined, { user: "system:node:n1", groups: ["system:nodes", "system:authenticated"] })).status).toBe(403);
    expect((await f.call("DELETE", "")).status).toBe(405);
    expect((await f.call("GET", "/other")).status).toBe(404);
  });

  test("not forgeable: another key, a service-account token, or edited claims are refused; and the reverse", async () => {
    const f = await fixture();
    const other = await generateUserCredentialKey();
    const c = (await f.call("POST", "", { user: "alice", groups: [], ttlSeconds: 60 })).body as IssuedCredential;
    const forged = await new SignJWT({ groups: ["system:masters"] })
      .setProtectedHeader({ alg: "ES256" }).setIssuer("bramble:user-credentials").setAudience("bramble:api").setSubject("alice")
      .setIssuedAt(f.now() / 1000).setNotBefore(f.now() / 1000).setExpirationTime(f.now() / 1000 + 60).setJti(c.id).sign(other.privateKey);
    expect(await f.auth(forged)).toBeUndefined();
    const [h, , s] = c.token.split(".");
    const edited = Buffer.from(JSON.stringify({ ...decodeJwt(c.token), groups: ["system:masters"] })).toString("base64url");
    expect(await f.auth(`${h}.${edited}.${s}`)).toBeUndefined();
    // A service-account token is not even looked at, and a user token is no service-account token.
    const saKey = await generateServiceAccountKey();
    const sa = await tokenSigner(saKey, f.now)({ namespace: "default", serviceaccount: { name: "default", uid: "u" }, audiences: [SERVICE_ACCOUNT_ISSUER], expirationSeconds: 600 });
    expect(f.auth(sa.token)).toBeUndefined();
    const saAuth = createServiceAccountAuthenticator(f.key, { getServiceAccount: () => undefined, getPod: () => undefined, getSecret: () => undefined }, { now: f.now });
    expect(await saAuth(c.token)).toBeUndefined();
  });

  test("the signing key is kept owner-only in the data dir and reused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "user-key-"));
    try {
      const a = await ensureUserCredentialKey(dir);
      expect(a.created).toBe(true);
      expect(statSync(userCredentialKeyPath(dir)).mode & 0o777).toBe(0o600);
      const b = await ensureUserCredentialKey(dir);
      expect(b.created).toBe(false);
      expect(b.keyId).toBe(a.keyId);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
