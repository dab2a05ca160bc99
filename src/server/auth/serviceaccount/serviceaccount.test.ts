import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeJwt, decodeProtectedHeader } from "jose";
import type { KubeObject } from "../../../api/meta";
import { createAuthorizer, type RequestAttributes } from "../authorizer";
import { nodeUser } from "../node-credentials";
import { bootstrapIndex, roleBinding } from "../rbac/testing";
import { createServiceAccountAuthenticator, ensureServiceAccountKey, generateServiceAccountKey, serviceAccountKeyPath, serviceAccountOf, serviceAccountUser, SERVICE_ACCOUNT_ISSUER, tokenSigner, type TokenGrant } from "./index";

const obj = (namespace: string, name: string, uid: string, extra: Partial<KubeObject> = {}): KubeObject => ({ metadata: { namespace, name, uid }, ...extra });

function cluster() {
  const objects = new Map<string, KubeObject>();
  const put = (kind: string, o: KubeObject) => objects.set(`${kind}/${o.metadata.namespace}/${o.metadata.name}`, o);
  const view = {
    getServiceAccount: (ns: string, n: string) => objects.get(`sa/${ns}/${n}`),
    getPod: (ns: string, n: string) => objects.get(`pod/${ns}/${n}`),
    getSecret: (ns: string, n: string) => objects.get(`secret/${ns}/${n}`),
  };
  return { objects, put, view };
}

const grant = (over: Partial<TokenGrant> = {}): TokenGrant => ({
  namespace: "default",
  serviceaccount: { name: "default", uid: "sa-1" },
  audiences: [SERVICE_ACCOUNT_ISSUER],
  expirationSeconds: 3600,
  ...over,
});

describe("tokens", () => {
  test("claims have upstream's shape: iss, sub, aud, exp/iat/nbf, jti, kubernetes.io with pod and node", async () => {
    const key = await generateServiceAccountKey();
    const t0 = Date.parse("2026-01-01T00:00:00Z");
    const { token, expiresAt } = await tokenSigner(key, () => t0)(grant({ pod: { name: "web", uid: "pod-1" }, node: { name: "n1", uid: "node-1" }, expirationSeconds: 3607 }));
    const claims = decodeJwt(token);
    expect(decodeProtectedHeader(token)).toEqual({ alg: "ES256", kid: key.keyId });
    expect(claims.iss).toBe("https://kubernetes.default.svc.cluster.local");
    expect(claims.sub).toBe("system:serviceaccount:default:default");
    expect(claims.aud).toEqual(["https://kubernetes.default.svc.cluster.local"]);
    expect(claims.iat).toBe(t0 / 1000);
    expect(claims.nbf).toBe(t0 / 1000);
    expect(claims.exp).toBe(t0 / 1000 + 3607);
    expect(typeof claims.jti).toBe("string");
    expect(claims["kubernetes.io"]).toEqual({ namespace: "default", serviceaccount: { name: "default", uid: "sa-1" }, pod: { name: "web", uid: "pod-1" }, node: { name: "n1", uid: "node-1" } });
    expect(expiresAt.getTime()).toBe(t0 + 3607_000);
  });

  test("the signing key is created once in the data dir (owner-only) and reused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "h6-sakey-"));
    try {
      const first = await ensureServiceAccountKey(dir);
      expect(first.created).toBe(true);
      expect(statSync(serviceAccountKeyPath(dir)).mode & 0o777).toBe(0o600);
      expect(readFileSync(serviceAccountKeyPath(dir), "utf8")).toContain("BEGIN PRIVATE KEY");
      const again = await ensureServiceAccountKey(dir);
      expect(again.created).toBe(false);
      expect(again.keyId).toBe(first.keyId);
      // A token signed before the "restart" verifies with the key read back.
      const c = cluster();
      c.put("sa", obj("default", "default", "sa-1"));
      const { token } = await tokenSigner(first)(grant());
      expect(await createServiceAccountAuthenticator(again, c.view)(token)).toEqual(serviceAccountUser("default", "default"));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("authentication", () => {
  test("a valid token is the service account, with upstream's groups", async () => {
    const key = await generateServiceAccountKey();
    const c = cluster();
    c.put("sa", obj("apps", "builder", "sa-9"));
    const { token } = await tokenSigner(key)(grant({ namespace: "apps", serviceaccount: { name: "builder", uid: "sa-9" } }));
    const user = await createServiceAccountAuthenticator(key, c.view)(token);
    expect(user).toEqual({ user: "system:serviceaccount:apps:builder", groups: ["system:serviceaccounts", "system:serviceaccounts:apps", "system:authenticated"] });
    expect(serviceAccountOf(user!)).toEqual({ namespace: "apps", name: "builder" });
  });

  test("expired or not yet valid → no user; the remembered signature does not outlive the token", async () => {
    const key = await generateServiceAccountKey();
    const c = cluster();
    c.put("sa", obj("default", "default", "sa-1"));
    let now = Date.parse("2026-01-01T00:00:00Z");
    const { token } = await tokenSigner(key, () => now)(grant({ expirationSeconds: 600 }));
    const auth = createServiceAccountAuthenticator(key, c.view, { now: () => now });
    expect(await auth(token)).toBeDefined();
    now += 599_000;
    expect(await auth(token)).toBeDefined();
    now += 1_000;
    expect(await auth(token)).toBeUndefined();
    // A fresh authenticator (no cache) refuses it too, and one before nbf.
    expect(await createServiceAccountAuthenticator(key, c.view, { now: () => now })(token)).toBeUndefined();
    expect(await createServiceAccountAuthenticator(key, c.view, { now: () => Date.parse("2025-12-31T23:59:00Z") })(token)).toBeUndefined();
  });

  test("another key's signature, a tampered payload, or garbage → no user", async () => {
    const key = await generateServiceAccountKey();
    const other = await generateServiceAccountKey();
    const c = cluster();
    c.put("sa", obj("default", "default", "sa-1"));
    const auth = createServiceAccountAuthenticator(key, c.view);
    const { token: foreign } = await tokenSigner(other)(grant());
    expect(await auth(foreign)).toBeUndefined();
    const { token } = await tokenSigner(key)(grant());
    const [h, , s] = token.split(".");
    const forged = Buffer.from(JSON.stringify({ ...decodeJwt(token), sub: "system:serviceaccount:kube-system:default", "kubernetes.io": { namespace: "kube-system", serviceaccount: { name: "default", uid: "sa-1" } } })).toString("base64url");
    expect(await auth(`${h}.${forged}.${s}`)).toBeUndefined();
    // alg "none" is never accepted.
    const none = `${Buffer.from(JSON.stringify({ alg: "none" })).toString("base64url")}.${token.split(".")[1]}.`;
    expect(await auth(none)).toBeUndefined();
    expect(await auth("node.n1." + "a".repeat(64))).toBeUndefined();
    expect(await auth("not-a-token")).toBeUndefined();
  });

  test("audience: the API server's own by default; a token for another audience is refused", async () => {
    const key = await generateServiceAccountKey();
    const c = cluster();
    c.put("sa", obj("default", "default", "sa-1"));
    const auth = createServiceAccountAuthenticator(key, c.view);
    const { token: vault } = await tokenSigner(key)(grant({ audiences: ["vault"] }));
    expect(await auth(vault)).toBeUndefined();
    const { token: both } = await tokenSigner(key)(grant({ audiences: ["vault", SERVICE_ACCOUNT_ISSUER] }));
    expect(await auth(both)).toBeDefined();
    expect(await createServiceAccountAuthenticator(key, c.view, { audiences: ["vault"] })(vault)).toBeDefined();
  });

  test("revoked with what it is bound to: the account (deleted or recreated), the pod (deleted, recreated, past its deletion), the secret", async () => {
    const key = await generateServiceAccountKey();
    const c = cluster();
    let now = Date.parse("2026-01-01T00:00:00Z");
    const sign = tokenSigner(key, () => now);
    const auth = createServiceAccountAuthenticator(key, c.view, { now: () => now });
    c.put("sa", obj("default", "default", "sa-1"));
    c.put("pod", obj("default", "web", "pod-1"));
    c.put("secret", obj("default", "s", "sec-1"));
    const { token: podToken } = await sign(grant({ pod: { name: "web", uid: "pod-1" } }));
    const { token: secretToken } = await sign(grant({ secret: { name: "s", uid: "sec-1" } }));
    const { token: plain } = await sign(grant());
    expect(await auth(podToken)).toBeDefined();
    expect(await auth(secretToken)).toBeDefined();

    // Graceful deletion: valid until the deletion timestamp, then not.
    c.put("pod", obj("default", "web", "pod-1", { metadata: { namespace: "default", name: "web", uid: "pod-1", deletionTimestamp: new Date(now + 30_000).toISOString() } }));
    expect(await auth(podToken)).toBeDefined();
    now += 31_000;
    expect(await auth(podToken)).toBeUndefined();
    c.objects.delete("pod/default/web");
    expect(await auth(podToken)).toBeUndefined();
    c.put("pod", obj("default", "web", "pod-2"));
    expect(await auth(podToken)).toBeUndefined();

    c.objects.delete("secret/default/s");
    expect(await auth(secretToken)).toBeUndefined();

    expect(await auth(plain)).toBeDefined();
    c.put("sa", obj("default", "default", "sa-2"));
    expect(await auth(plain)).toBeUndefined();
    c.objects.delete("sa/default/default");
    expect(await auth(plain)).toBeUndefined();
  });
});

describe("authorization", () => {
  const pods: KubeObject[] = [
    { metadata: { namespace: "default", name: "web", uid: "pod-1" }, spec: { nodeName: "n1", serviceAccountName: "builder" } },
    { metadata: { namespace: "default", name: "plain", uid: "pod-2" }, spec: { nodeName: "n1" } },
    { metadata: { namespace: "default", name: "elsewhere", uid: "pod-3" }, spec: { nodeName: "n2" } },
  ];
  // The account is given upstream's `view` role in its namespace, as docs/service-accounts.md suggests.
  const rbac = bootstrapIndex(["RoleBinding", roleBinding("default", "sa-view", "view", [{ kind: "ServiceAccount", name: "default", namespace: "default" }])]);
  const authorize = createAuthorizer({
    rbac,
    getPod: (ns, name) => pods.find((p) => p.metadata.namespace === ns && p.metadata.name === name),
    podsOnNode: (ns, node) => pods.filter((p) => p.metadata.namespace === ns && (p.spec as { nodeName?: string }).nodeName === node),
  });
  const sa = serviceAccountUser("default", "default");
  const attrs = (a: Partial<RequestAttributes>): RequestAttributes => ({ verb: "get", group: "", resource: "pods", namespace: "default", ...a });
  const allowed = async (u: typeof sa, a: Partial<RequestAttributes>) => (await authorize(u, attrs(a))).allowed;

  test("without a binding a service account may do nothing but discovery and self reviews", async () => {
    const other = serviceAccountUser("default", "other");
    expect(await allowed(other, { verb: "list" })).toBe(false);
    expect(await allowed(other, { verb: "get", name: "web" })).toBe(false);
    expect(await allowed(other, { verb: "create", group: "authorization.k8s.io", resource: "selfsubjectaccessreviews", namespace: undefined })).toBe(true);
  });

  test("with view bound in its namespace: it reads that namespace (not Secrets), nothing else, and writes nothing", async () => {
    expect(await allowed(sa, { verb: "list" })).toBe(true);
    expect(await allowed(sa, { verb: "watch", group: "apps", resource: "deployments" })).toBe(true);
    expect(await allowed(sa, { verb: "get", name: "web" })).toBe(true);
    expect(await allowed(sa, { verb: "get", name: "web", subresource: "log" })).toBe(true);
    // A request for a Namespace object is in that namespace (upstream's RequestInfo).
    expect(await allowed(sa, { verb: "get", resource: "namespaces", namespace: "default", name: "default" })).toBe(true);

    expect(await allowed(sa, { verb: "get", resource: "secrets", name: "s" })).toBe(false);
    expect(await allowed(sa, { verb: "list", namespace: "kube-system" })).toBe(false);
    expect(await allowed(sa, { verb: "list", namespace: undefined })).toBe(false);
    expect(await allowed(sa, { verb: "list", resource: "nodes", namespace: undefined })).toBe(false);
    expect(await allowed(sa, { verb: "get", resource: "namespaces", namespace: "kube-system", name: "kube-system" })).toBe(false);
    expect(await allowed(sa, { verb: "create" })).toBe(false);
    expect(await allowed(sa, { verb: "delete", name: "web" })).toBe(false);
    expect(await allowed(sa, { verb: "create", name: "web", subresource: "exec" })).toBe(false);
    expect(await allowed(sa, { verb: "get", name: "web", subresource: "attach" })).toBe(false);
    expect(await allowed(sa, { verb: "create", name: "web", subresource: "attach" })).toBe(false);
    expect(await allowed(sa, { verb: "create", resource: "serviceaccounts", name: "default", subresource: "token" })).toBe(false);
  });

  test("a node creates tokens only for the accounts of its pods, bound to such a pod (with its uid)", async () => {
    const n1 = nodeUser("n1");
    const token = (name: string, ref?: object) => attrs({ verb: "create", resource: "serviceaccounts", name, subresource: "token", body: async () => ({ spec: { boundObjectRef: ref } }) });
    const ok = await authorize(n1, token("builder", { kind: "Pod", name: "web", uid: "pod-1" }));
    expect(ok.allowed).toBe(true);
    expect((await authorize(n1, token("default", { kind: "Pod", name: "plain", uid: "pod-2" }))).allowed).toBe(true);
    const refusals: Array<[string, object | undefined, string]> = [
      ["builder", undefined, "node requested token not bound to a pod"],
      ["builder", { kind: "Secret", name: "s", uid: "x" }, "node requested token not bound to a pod"],
      ["builder", { kind: "Pod", name: "web" }, "node requested token with a pod binding without a uid"],
      ["builder", { kind: "Pod", name: "web", uid: "other" }, "does not match"],
      ["default", { kind: "Pod", name: "elsewhere", uid: "pod-3" }, "scheduled on a different node"],
      ["default", { kind: "Pod", name: "web", uid: "pod-1" }, "no relationship found"],
    ];
    for (const [name, ref, why] of refusals) {
      const d = await authorize(n1, token(name, ref));
      expect(d.allowed).toBe(false);
      expect(!d.allowed && d.reason).toContain(why);
    }
  });
});
