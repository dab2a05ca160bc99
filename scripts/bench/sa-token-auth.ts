// What service-account tokens cost the API server, in-process (no TLS, no sockets: the handler
// itself), on the memory store:
//   - GET of a ConfigMap with the admin token (the same-run baseline: a hashed-token lookup);
//   - the same GET with a service-account token seen before (signature remembered; what a pod's
//     client does on every request): the cached path plus the account lookup and authorization;
//   - the same GET with a token never seen before (full ES256 verification, jose);
//   - POST serviceaccounts/default/token (TokenRequest: ES256 signing).
// Rounds interleave the scenarios so a noisy neighbour hurts them alike; medians of the rounds.
//   bun scripts/bench/sa-token-auth.ts [--n 2000] [--rounds 5]
import { parseArgs } from "node:util";
import { createApiServer } from "../../src/server/apiserver/index.ts";
import { testConfig } from "../../src/server/apiserver/testing.ts";
import {
  bearerAuthenticator,
  chainAuthenticators,
  checkAccess,
  createAuthorizer,
  createServiceAccountAuthenticator,
  createTokenAuthenticator,
  generateServiceAccountKey,
  tokenSigner,
  type Authenticator,
} from "../../src/server/auth/index.ts";
import { openStore } from "../../src/server/store/index.ts";
import { printTable } from "./lib/table.ts";

const { values: args } = parseArgs({ options: { n: { type: "string", default: "2000" }, rounds: { type: "string", default: "5" } } });
const N = Number(args.n);
const ROUNDS = Number(args.rounds);

const store = await openStore("memory:");
const key = await generateServiceAccountKey();
let sa: Authenticator = () => undefined;
let authorize: ReturnType<typeof createAuthorizer>;
const ADMIN = "bench-admin-token";
const api = await createApiServer({
  store,
  config: testConfig(),
  authenticate: chainAuthenticators(createTokenAuthenticator([{ token: ADMIN, user: { user: "system:admin", groups: ["system:masters"] } }]), (req) => sa(req)),
  authorize: (user, req, url, target) => checkAccess(authorize, user, req, url, target),
  serviceAccountSigner: tokenSigner(key),
});
const ctx = api.context;
const get = (plural: string, ns: string, name: string) => ctx.objects.tryGet(ctx.resource("", plural), ns, name);
sa = bearerAuthenticator(createServiceAccountAuthenticator(key, { getServiceAccount: (ns, n) => get("serviceaccounts", ns, n), getPod: (ns, n) => get("pods", ns, n), getSecret: (ns, n) => get("secrets", ns, n) }, { cacheSize: 4 * N * ROUNDS }));
authorize = createAuthorizer({ getPod: (ns, n) => get("pods", ns, n), podsOnNode: () => [] });

const call = async (token: string, method: string, path: string, body?: unknown) => {
  const res = await api.fetch(new Request(`https://bench${path}`, { method, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body) }));
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text;
};
await call(ADMIN, "POST", "/api/v1/namespaces/default/serviceaccounts", { metadata: { name: "default" } });
await call(ADMIN, "POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "bench" }, data: { a: "b" } });
const mint = async () => JSON.parse(await call(ADMIN, "POST", "/api/v1/namespaces/default/serviceaccounts/default/token", { spec: {} })).status.token as string;
const seen = await mint();
const GET = "/api/v1/namespaces/default/configmaps/bench";

async function timed(f: (i: number) => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < N; i++) await f(i);
  return (performance.now() - t0) / N; // ms per request
}

const results: Record<string, number[]> = { admin: [], seen: [], fresh: [], mint: [] };
for (let r = 0; r < ROUNDS; r++) {
  const fresh: string[] = [];
  for (let i = 0; i < N; i++) fresh.push(await mint());
  results.admin!.push(await timed(() => call(ADMIN, "GET", GET)));
  results.seen!.push(await timed(() => call(seen, "GET", GET)));
  results.fresh!.push(await timed((i) => call(fresh[i]!, "GET", GET)));
  results.mint!.push(await timed(() => mint()));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const base = median(results.admin!);
const label: Record<string, string> = {
  admin: "GET configmap, admin token (baseline)",
  seen: "GET configmap, service-account token seen before",
  fresh: "GET configmap, service-account token never seen",
  mint: "POST serviceaccounts/default/token",
};
console.log(`bun ${Bun.version}, ${N} requests × ${ROUNDS} rounds, sequential, in-process (no TLS)\n`);
printTable(
  ["scenario", "µs/request (median of rounds)", "× baseline"],
  Object.keys(results).map((k) => [label[k]!, (median(results[k]!) * 1000).toFixed(1), (median(results[k]!) / base).toFixed(2)]),
);
await api.stop();
await store.close();
