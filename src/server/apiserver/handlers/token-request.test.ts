// serviceaccounts/token over HTTP, and the tokens it returns used against the same API server,
// wired as server.ts wires it: admin token, node credentials, service-account tokens, authorizer.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { decodeJwt } from "jose";
import type { KubeObject } from "../../../api/meta";
import {
  bearerAuthenticator,
  chainAuthenticators,
  checkAccess,
  createAuthorizer,
  createServiceAccountAuthenticator,
  createTokenAuthenticator,
  ensureBootstrapPolicy,
  feedRbacIndex,
  generateServiceAccountKey,
  RbacIndex,
  nodeUser,
  tokenSigner,
  type Authenticator,
} from "../../auth/index";
import { openStore } from "../../store";
import type { Store } from "../../store/store";
import { createApiServer, type ApiServer } from "../index";
import { testConfig } from "../testing";

const ADMIN = "admin-token";
const NODE = "node-n1-token";
let api: ApiServer;
let store: Store;

beforeAll(async () => {
  store = await openStore("memory:");
  const key = await generateServiceAccountKey();
  let sa: Authenticator = () => undefined;
  let authorize: ReturnType<typeof createAuthorizer>;
  api = await createApiServer({
    store,
    config: testConfig(),
    authenticate: chainAuthenticators(
      createTokenAuthenticator([
        { token: ADMIN, user: { user: "system:admin", groups: ["system:masters", "system:authenticated"] } },
        { token: NODE, user: nodeUser("n1") },
      ]),
      (req) => sa(req),
    ),
    authorize: (user, req, url, target) => checkAccess(authorize, user, req, url, target),
    serviceAccountSigner: tokenSigner(key),
  });
  const ctx = api.context;
  const get = (plural: string, ns: string, name: string) => ctx.objects.tryGet(ctx.resource("", plural), ns, name);
  sa = bearerAuthenticator(createServiceAccountAuthenticator(key, { getServiceAccount: (ns, n) => get("serviceaccounts", ns, n), getPod: (ns, n) => get("pods", ns, n), getSecret: (ns, n) => get("secrets", ns, n) }));
  const rbac = new RbacIndex();
  feedRbacIndex(ctx, rbac);
  await ensureBootstrapPolicy(ctx.objects, ctx.resource);
  authorize = createAuthorizer({
    rbac,
    getPod: (ns, name) => get("pods", ns, name),
    podsOnNode: (ns, node) => ctx.objects.list(ctx.resource("", "pods"), ns).items.filter((p) => (p as { spec?: { nodeName?: string } }).spec?.nodeName === node),
  });
  await call(ADMIN, "POST", "/api/v1/namespaces", { metadata: { name: "other" } });
  for (const [ns, name] of [["default", "default"], ["default", "builder"], ["other", "default"]]) {
    expect((await call(ADMIN, "POST", `/api/v1/namespaces/${ns}/serviceaccounts`, { metadata: { name } })).status).toBe(201);
  }
  // The default accounts of default and other may read pods and configmaps in their namespace,
  // as a ClusterRole and a RoleBinding in each namespace say.
  const rbacPath = "/apis/rbac.authorization.k8s.io/v1";
  const rules = [{ verbs: ["get", "list", "watch"], apiGroups: [""], resources: ["pods", "configmaps"] }];
  expect((await call(ADMIN, "POST", `${rbacPath}/clusterroles`, { metadata: { name: "reader" }, rules })).status).toBe(201);
  for (const ns of ["default", "other"]) {
    const binding = { metadata: { name: "reader" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "reader" }, subjects: [{ kind: "ServiceAccount", name: "default" }] };
    expect((await call(ADMIN, "POST", `${rbacPath}/namespaces/${ns}/rolebindings`, binding)).status).toBe(201);
  }
  await call(ADMIN, "POST", "/api/v1/nodes", { metadata: { name: "n1" } });
  const pod = (name: string, spec: object) => call(ADMIN, "POST", "/api/v1/namespaces/default/pods", { metadata: { name }, spec: { containers: [{ name: "c", image: "busybox" }], ...spec } });
  await pod("web", { nodeName: "n1", serviceAccountName: "builder" });
  await pod("plain", { nodeName: "n1" });
  await call(ADMIN, "POST", "/api/v1/namespaces/default/secrets", { metadata: { name: "s" } });
});

afterAll(async () => {
  await api.stop();
  await store.close();
});

async function call(token: string, method: string, path: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await api.fetch(new Request(`https://bramble.test${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
  const text = await res.text();
  let parsed: any = text;
  try {
    parsed = JSON.parse(text);
  } catch {}
  return { status: res.status, body: parsed };
}

const tokenRequest = (spec: object = {}) => ({ apiVersion: "authentication.k8s.io/v1", kind: "TokenRequest", metadata: {}, spec });
const create = (token: string, ns: string, sa: string, spec?: object) => call(token, "POST", `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`, tokenRequest(spec));
const uid = async (plural: string, name: string) => (await call(ADMIN, "GET", `/api/v1/namespaces/default/${plural}/${name}`)).body.metadata.uid as string;

describe("TokenRequest", () => {
  test("defaults: one hour, the API server's audience, unbound", async () => {
    const before = Date.now();
    const r = await create(ADMIN, "default", "default");
    expect(r.status).toBe(201);
    expect(r.body.kind).toBe("TokenRequest");
    expect(r.body.apiVersion).toBe("authentication.k8s.io/v1");
    expect(r.body.spec).toEqual({ audiences: ["https://kubernetes.default.svc.cluster.local"], expirationSeconds: 3600, boundObjectRef: null });
    const claims = decodeJwt(r.body.status.token);
    expect(claims.sub).toBe("system:serviceaccount:default:default");
    expect(claims.exp! - claims.iat!).toBe(3600);
    expect(Date.parse(r.body.status.expirationTimestamp)).toBe(claims.exp! * 1000);
    expect(claims.iat! * 1000).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect((claims["kubernetes.io"] as any).serviceaccount).toEqual({ name: "default", uid: await uid("serviceaccounts", "default") });
  });

  test("bound to a pod: the pod and its node in the claims; audiences and lifetime as asked", async () => {
    const podUid = await uid("pods", "web");
    const r = await create(ADMIN, "default", "builder", { audiences: ["vault"], expirationSeconds: 1200, boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "web", uid: podUid } });
    expect(r.status).toBe(201);
    expect(r.body.spec.boundObjectRef).toEqual({ kind: "Pod", apiVersion: "v1", name: "web", uid: podUid });
    const claims = decodeJwt(r.body.status.token);
    expect(claims.aud).toEqual(["vault"]);
    expect(claims.exp! - claims.iat!).toBe(1200);
    const k8s = claims["kubernetes.io"] as any;
    expect(k8s.pod).toEqual({ name: "web", uid: podUid });
    expect(k8s.node.name).toBe("n1");
    expect(typeof k8s.node.uid).toBe("string");
  });

  test("errors as Status: 404 missing account or pod, 422 bad fields, 409 uid mismatch, 400 wrong account", async () => {
    const missing = await create(ADMIN, "default", "nobody");
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ kind: "Status", reason: "NotFound", message: 'serviceaccounts "nobody" not found' });
    const short = await create(ADMIN, "default", "default", { expirationSeconds: 599 });
    expect(short.status).toBe(422);
    expect(short.body.reason).toBe("Invalid");
    expect(short.body.details.causes).toEqual([{ reason: "FieldValueInvalid", field: "spec.expirationSeconds", message: "Invalid value: 599: may not specify a duration less than 10 minutes" }]);
    expect((await create(ADMIN, "default", "default", { boundObjectRef: { kind: "Node", name: "n1" } })).status).toBe(422);
    expect((await create(ADMIN, "default", "default", { boundObjectRef: { kind: "Pod" } })).body.details.causes[0].field).toBe("spec.boundObjectRef.name");
    const noPod = await create(ADMIN, "default", "default", { boundObjectRef: { kind: "Pod", name: "ghost" } });
    expect(noPod.status).toBe(404);
    expect(noPod.body.message).toBe('pods "ghost" not found');
    const stale = await create(ADMIN, "default", "default", { boundObjectRef: { kind: "Pod", name: "plain", uid: "not-the-uid" } });
    expect(stale.status).toBe(409);
    expect(stale.body.reason).toBe("Conflict");
    const wrongAccount = await create(ADMIN, "default", "default", { boundObjectRef: { kind: "Pod", name: "web" } });
    expect(wrongAccount.status).toBe(400);
    expect(wrongAccount.body.message).toBe('cannot bind token for serviceaccount "default" to pod running with serviceaccount "builder"');
    expect((await call(ADMIN, "GET", "/api/v1/namespaces/default/serviceaccounts/default/token")).status).toBe(405);
  });

  test("discovery lists serviceaccounts/token as a TokenRequest create", async () => {
    const r = await call(ADMIN, "GET", "/api/v1");
    expect(r.body.resources.find((x: { name: string }) => x.name === "serviceaccounts/token")).toEqual({ name: "serviceaccounts/token", singularName: "", namespaced: true, kind: "TokenRequest", group: "authentication.k8s.io", version: "v1", verbs: ["create"] });
  });
});

describe("using the tokens", () => {
  test("a token authenticates as its account: reads in its namespace; 403 elsewhere, for secrets and writes", async () => {
    const token = (await create(ADMIN, "default", "default")).body.status.token;
    expect((await call(token, "GET", "/api/v1/namespaces/default/pods")).status).toBe(200);
    expect((await call(token, "GET", "/api/v1")).status).toBe(200);
    const denied = await call(token, "GET", "/api/v1/namespaces/kube-system/pods");
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({
      kind: "Status",
      reason: "Forbidden",
      message: 'pods is forbidden: User "system:serviceaccount:default:default" cannot list resource "pods" in API group "" in the namespace "kube-system"',
    });
    expect((await call(token, "GET", "/api/v1/namespaces/default/secrets/s")).status).toBe(403);
    expect((await call(token, "GET", "/api/v1/nodes")).status).toBe(403);
    expect((await call(token, "POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "x" } })).status).toBe(403);
  });

  test("401 once the bound pod is deleted, for another audience, and for a token of a recreated account", async () => {
    const podToken = (await create(ADMIN, "default", "default", { boundObjectRef: { kind: "Pod", name: "plain" } })).body.status.token;
    expect((await call(podToken, "GET", "/api/v1/namespaces/default/pods")).status).toBe(200);
    await call(ADMIN, "DELETE", "/api/v1/namespaces/default/pods/plain?gracePeriodSeconds=0");
    const gone = await call(podToken, "GET", "/api/v1/namespaces/default/pods");
    expect(gone.status).toBe(401);
    expect(gone.body).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });

    const vault = (await create(ADMIN, "default", "default", { audiences: ["vault"] })).body.status.token;
    expect((await call(vault, "GET", "/api/v1/namespaces/default/pods")).status).toBe(401);

    const old = (await create(ADMIN, "other", "default")).body.status.token;
    expect((await call(old, "GET", "/api/v1/namespaces/other/pods")).status).toBe(200);
    await call(ADMIN, "DELETE", "/api/v1/namespaces/other/serviceaccounts/default");
    await call(ADMIN, "POST", "/api/v1/namespaces/other/serviceaccounts", { metadata: { name: "default" } });
    expect((await call(old, "GET", "/api/v1/namespaces/other/pods")).status).toBe(401);
  });

  test("a node gets tokens only bound to its own pods, for their accounts", async () => {
    const webUid = await uid("pods", "web");
    const ok = await create(NODE, "default", "builder", { boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "web", uid: webUid }, expirationSeconds: 3607 });
    expect(ok.status).toBe(201);
    const unbound = await create(NODE, "default", "builder");
    expect(unbound.status).toBe(403);
    expect(unbound.body.message).toContain("node requested token not bound to a pod");
    const otherAccount = await create(NODE, "default", "default", { boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "web", uid: webUid } });
    expect(otherAccount.status).toBe(403);
  });
});
