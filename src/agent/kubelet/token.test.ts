import { afterAll, beforeAll, expect, test } from "bun:test";
import { decodeJwt } from "jose";
import type { Pod } from "../../api/resources/pod";
import { startHttpTestApi, type HttpTestApi } from "../../server/apiserver/testing";
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
