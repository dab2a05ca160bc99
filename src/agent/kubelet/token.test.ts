import { afterAll, beforeAll, expect, test } from "bun:test";
import { decodeJwt } from "jose";
import type { Pod } from "../../api/resources/core/pod";
import { KubeClient } from "../../client/client";
import { createApiServer } from "../../server/apiserver/index";
import { testConfig } from "../../server/apiserver/testing";
import { checkAccess, createAuthorizer, createTokenAuthenticator, generateServiceAccountKey, nodeUser, tokenSigner } from "../../server/auth/index";
import { openStore } from "../../server/store";
import { startHttpTestApi, type HttpTestApi } from "../node/testing";
import { serviceAccountTokenRequester, tokenRefreshAt } from "./token";

let api: HttpTestApi;
const pods = { group: "", version: "v1", plural: "pods", namespaced: true };
const sas = { group: "", version: "v1", plural: "serviceaccounts", namespaced: true };
const nss = { group: "", version: "v1", plural: "namespaces", namespaced: false };

beforeAll(async () => {
  api = await startHttpTestApi();
});
afterAll(async () => {
  await api.stop();
});

const makePod = (ns: string, name: string, serviceAccountName?: string) =>
  api.client.resource<Pod>(pods).create(ns, { metadata: { name }, spec: { nodeName: "n1", serviceAccountName, containers: [{ name: "c", image: "busybox" }] } } as Pod);

test("asks for a token bound to the pod, for its account, 3607 s by default (upstream's kubelet)", async () => {
  await api.client.resource(sas).create("default", { metadata: { name: "builder" } });
  const pod = await makePod("default", "web", "builder");
  const token = await serviceAccountTokenRequester(api.client)(pod);
  const claims = decodeJwt(token);
  expect(claims.sub).toBe("system:serviceaccount:default:builder");
  expect(claims.exp! - claims.iat!).toBe(3607);
  expect((claims["kubernetes.io"] as { pod: unknown }).pod).toEqual({ name: "web", uid: pod.metadata.uid });
  const custom = decodeJwt(await serviceAccountTokenRequester(api.client)(pod, "vault", 7200));
  expect(custom.aud).toEqual(["vault"]);
  expect(custom.exp! - custom.iat!).toBe(7200);
});

test("waits briefly for a namespace's default account that is not there yet, then gives up with the API's error", async () => {
  await api.client.resource(nss).create(undefined, { metadata: { name: "fresh" } });
  const pod = await makePod("fresh", "early");
  const pending = serviceAccountTokenRequester(api.client, { missingAccountWaitMs: 5_000 })(pod);
  await Bun.sleep(150);
  await api.client.resource(sas).create("fresh", { metadata: { name: "default" } });
  expect(decodeJwt(await pending).sub).toBe("system:serviceaccount:fresh:default");

  const orphan = await makePod("fresh", "orphan", "nobody");
  await expect(serviceAccountTokenRequester(api.client, { missingAccountWaitMs: 200 })(orphan)).rejects.toThrow('serviceaccounts "nobody" not found');
});

test("refresh at 80% of the token's own lifetime; tokens it cannot read fall back to the asked lifetime", () => {
  const jwt = (claims: object) => `e30.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.sig`;
  expect(tokenRefreshAt(jwt({ iat: 1000, exp: 4600 }), 0, 600)).toBe((1000 + 2880) * 1000);
  expect(tokenRefreshAt("not-a-jwt", 5_000, 600)).toBe(5_000 + 480_000);
  expect(tokenRefreshAt("", 0, 3600)).toBe(2_880_000);
});

test("with the node's own credential (node authorization): tokens for pods on its node only", async () => {
  const store = await openStore("memory:");
  let authorize: ReturnType<typeof createAuthorizer>;
  const server = await createApiServer({
    store,
    config: testConfig(),
    authenticate: createTokenAuthenticator([
      { token: "admin", user: { user: "system:admin", groups: ["system:masters"] } },
      { token: "node-n1", user: nodeUser("n1") },
    ]),
    authorize: (user, req, url, target) => checkAccess(authorize, user, req, url, target),
    serviceAccountSigner: tokenSigner(generateServiceAccountKey()),
  });
  const ctx = server.context;
  const stored = () => ctx.objects.list(ctx.resource("", "pods"), "default").items;
  authorize = createAuthorizer({ getPod: (ns, n) => ctx.objects.tryGet(ctx.resource("", "pods"), ns, n), podsOnNode: (_, node) => stored().filter((p) => (p.spec as { nodeName?: string }).nodeName === node) });
  const http = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req) => server.fetch(req) });
  try {
    const as = (token: string) => new KubeClient({ server: `http://127.0.0.1:${http.port}`, token, namespace: "default" });
    const admin = as("admin");
    await admin.resource(sas).create("default", { metadata: { name: "default" } });
    const pod = (name: string, nodeName: string) => admin.resource<Pod>(pods).create("default", { metadata: { name }, spec: { nodeName, containers: [{ name: "c", image: "busybox" }] } } as Pod);
    const request = serviceAccountTokenRequester(as("node-n1"), { missingAccountWaitMs: 0 });
    const here = await pod("here", "n1");
    expect((decodeJwt(await request(here))["kubernetes.io"] as { pod: unknown }).pod).toEqual({ name: "here", uid: here.metadata.uid });
    await expect(request(await pod("away", "n2"))).rejects.toThrow("node requested token bound to a pod scheduled on a different node");
  } finally {
    http.stop(true);
    await server.stop();
    await store.close();
  }
});
