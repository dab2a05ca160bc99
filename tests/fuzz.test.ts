// Throws a few thousand random and mutated requests at a real `bramble server` over HTTPS and
// checks the promises DESIGN.md makes about bad input: every answer is 2xx or 4xx (never a 5xx,
// never a dropped connection), every error is a metav1.Status whose `code` is the HTTP status,
// and the server is still healthy at the end.
//
// Reproducible: every request is generated from (seed, index) alone. A failure prints both;
//   FUZZ_SEED=<seed> bun test tests/fuzz.test.ts                 replays the whole run
//   FUZZ_SEED=<seed> FUZZ_ONLY=<i,j,...> bun test tests/fuzz.test.ts   sends just those requests
// (server state differs when run alone, so a state-dependent failure may need the whole run).
// FUZZ_REQUESTS overrides the number of requests.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { startTestServer, type TestServer } from "./helpers/server";

setDefaultTimeout(120_000);

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const REQUESTS = Number(process.env.FUZZ_REQUESTS ?? 4000);
const ONLY = process.env.FUZZ_ONLY?.split(",").map(Number);
const CONCURRENCY = 8;
/** Sent with every watch; the client also gives up after this long, which counts as a hang. */
const WATCH_TIMEOUT_S = 1;
const REQUEST_DEADLINE_MS = 20_000;

console.log(`fuzz: seed ${SEED} (FUZZ_SEED=${SEED} to replay), ${ONLY ? `only requests ${ONLY.join(",")}` : `${REQUESTS} requests`}`);

// ---------------------------------------------------------------- PRNG

/** mulberry32: small, fast, good enough to pick test inputs. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    chance: (p: number) => next() < p,
    pick: <T>(xs: readonly T[]): T => xs[int(xs.length)]!,
  };
}
type Rng = ReturnType<typeof prng>;
const requestSeed = (i: number) => (Math.imul(SEED ^ 0x9e3779b9, 2654435761) + Math.imul(i + 1, 0x85ebca6b)) >>> 0;

// ---------------------------------------------------------------- what there is to hit

interface Resource {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  subresources: string[];
}

const NAMES = ["fuzz-a", "fuzz-b", "fuzz-c", "web", "kubernetes", "default", "node-1", "x", "a".repeat(253), "UPPER", "-bad", "", "%2e%2e", "..", "a/b", "ünï", "a%00b"];
const NAMESPACES = ["default", "default", "fuzz-ns", "kube-system", "missing-ns", "UPPER", "", "..", "a".repeat(70)];

const meta = (name: string, extra: Record<string, unknown> = {}) => ({ name, labels: { app: "web", tier: "a" }, annotations: { note: "fuzz" }, ...extra });
const podSpec = () => ({
  containers: [
    {
      name: "app",
      image: "busybox:1.36",
      command: ["sh", "-c", "sleep 3600"],
      env: [{ name: "A", value: "1" }, { name: "B", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } }],
      ports: [{ name: "http", containerPort: 8080, protocol: "TCP" }],
      resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1", memory: "128Mi" } },
      readinessProbe: { httpGet: { path: "/", port: 8080 }, periodSeconds: 5 },
      volumeMounts: [{ name: "cfg", mountPath: "/etc/cfg" }],
    },
  ],
  volumes: [{ name: "cfg", configMap: { name: "fuzz-a" } }],
  nodeSelector: { "kubernetes.io/os": "linux" },
  tolerations: [{ key: "k", operator: "Exists", effect: "NoSchedule" }],
  affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: "zone", operator: "In", values: ["a", "b"] }] }] } } },
});
const template = () => ({ metadata: { labels: { app: "web" } }, spec: podSpec() });

/** A valid object for each kind, the fuzzer's starting point. */
function validObject(kind: string, name: string): Record<string, unknown> {
  switch (kind) {
    case "ConfigMap":
      return { apiVersion: "v1", kind, metadata: meta(name), data: { key: "value", "file.txt": "line1\nline2" }, binaryData: { bin: "AAEC" } };
    case "Secret":
      return { apiVersion: "v1", kind, metadata: meta(name), type: "Opaque", data: { password: "c2VjcmV0" }, stringData: { user: "admin" } };
    case "Pod":
      return { apiVersion: "v1", kind, metadata: meta(name), spec: podSpec() };
    case "Service":
      return { apiVersion: "v1", kind, metadata: meta(name), spec: { type: "NodePort", selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }] } };
    case "Namespace":
      return { apiVersion: "v1", kind, metadata: meta(name) };
    case "Node":
      return { apiVersion: "v1", kind, metadata: meta(name), spec: { podCIDR: "10.42.1.0/24", taints: [{ key: "k", value: "v", effect: "NoSchedule" }] }, status: { capacity: { cpu: "4", memory: "8Gi", pods: "110" }, addresses: [{ type: "InternalIP", address: "10.0.0.1" }] } };
    case "Endpoints":
      return { apiVersion: "v1", kind, metadata: meta(name), subsets: [{ addresses: [{ ip: "10.42.0.5" }], ports: [{ name: "http", port: 8080, protocol: "TCP" }] }] };
    case "ServiceAccount":
      return { apiVersion: "v1", kind, metadata: meta(name), automountServiceAccountToken: false };
    case "Event":
      return { apiVersion: "v1", kind, metadata: meta(name), involvedObject: { kind: "Pod", name: "web", namespace: "default" }, reason: "Fuzzed", message: "hello", type: "Normal", count: 1 };
    case "Deployment":
      return { apiVersion: "apps/v1", kind, metadata: meta(name), spec: { replicas: 2, selector: { matchLabels: { app: "web" } }, template: template(), strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: 1 } } } };
    case "ReplicaSet":
      return { apiVersion: "apps/v1", kind, metadata: meta(name), spec: { replicas: 1, selector: { matchLabels: { app: "web" } }, template: template() } };
    case "DaemonSet":
      return { apiVersion: "apps/v1", kind, metadata: meta(name), spec: { selector: { matchExpressions: [{ key: "app", operator: "In", values: ["web"] }] }, template: template() } };
    case "Job":
      return { apiVersion: "batch/v1", kind, metadata: meta(name), spec: { completions: 2, completionMode: "Indexed", backoffLimitPerIndex: 1, template: { spec: { ...podSpec(), restartPolicy: "Never" } }, podFailurePolicy: { rules: [{ action: "Ignore", onExitCodes: { operator: "In", values: [3] } }] } } };
    case "CronJob":
      return { apiVersion: "batch/v1", kind, metadata: meta(name), spec: { schedule: "30 3 * * mon-fri", timeZone: "Europe/Berlin", concurrencyPolicy: "Forbid", startingDeadlineSeconds: 60, successfulJobsHistoryLimit: 2, jobTemplate: { metadata: { labels: { app: "web" } }, spec: { backoffLimit: 2, template: { spec: { ...podSpec(), restartPolicy: "OnFailure" } } } } } };
    case "Lease":
      return { apiVersion: "coordination.k8s.io/v1", kind, metadata: meta(name), spec: { holderIdentity: "me", leaseDurationSeconds: 15, renewTime: "2024-01-01T00:00:00.000000Z" } };
    case "EndpointSlice":
      return { apiVersion: "discovery.k8s.io/v1", kind, metadata: meta(name), addressType: "IPv4", endpoints: [{ addresses: ["10.42.0.5"], conditions: { ready: true, serving: true, terminating: false }, hostname: "web-0", nodeName: "node-1", zone: "a", hints: { forZones: [{ name: "a" }] } }], ports: [{ name: "http", port: 8080, protocol: "TCP", appProtocol: "http" }] };
    case "Ingress":
      return { apiVersion: "networking.k8s.io/v1", kind, metadata: meta(name), spec: { ingressClassName: "bramble", tls: [{ hosts: ["shop.example.com"], secretName: "fuzz-a" }], rules: [{ host: "shop.example.com", http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: "web", port: { number: 80 } } } }, { path: "/api", pathType: "Exact", backend: { service: { name: "web", port: { name: "http" } } } }] } }, { host: "*.apps.example.com", http: { paths: [{ pathType: "ImplementationSpecific", backend: { service: { name: "web", port: { number: 80 } } } }] } }] } };
    case "IngressClass":
      return { apiVersion: "networking.k8s.io/v1", kind, metadata: meta(name), spec: { controller: "example.com/ingress", parameters: { apiGroup: "example.com", kind: "Params", name: "p", scope: "Namespace", namespace: "default" } } };
    case "PodDisruptionBudget":
      return { apiVersion: "policy/v1", kind, metadata: meta(name), spec: { minAvailable: "50%", selector: { matchLabels: { app: "web" } }, unhealthyPodEvictionPolicy: "AlwaysAllow" } };
    case "Scale":
      return { apiVersion: "autoscaling/v1", kind, metadata: { name }, spec: { replicas: 3 } };
    case "Binding":
      return { apiVersion: "v1", kind, metadata: { name }, target: { apiVersion: "v1", kind: "Node", name: "node-1" } };
    case "Eviction":
      return { apiVersion: "policy/v1", kind, metadata: { name }, deleteOptions: { gracePeriodSeconds: 0 } };
    default:
      return { apiVersion: "v1", kind: "DeleteOptions", propagationPolicy: "Foreground", gracePeriodSeconds: 0, preconditions: { uid: "x" }, dryRun: ["All"] };
  }
}

// ---------------------------------------------------------------- mutations

const WEIRD_STRINGS = [
  "",
  " ",
  "\u0000",
  "💥🔥",
  "\u202eevil",
  "\ud800",
  "a\nb",
  "../../etc/passwd",
  "${jndi:ldap://x}",
  "'; DROP TABLE kv; --",
  "%s%n",
  "0x10",
  "1e3",
  "true",
  "null",
  "-1",
  "   leading",
  "ﬀ".repeat(100),
  "2024-13-45T99:99:99Z",
];
const WEIRD_NUMBERS = [0, -1, -0, 1.5, 2 ** 31, 2 ** 31 - 1, -(2 ** 31) - 1, 2 ** 53 + 1, 2 ** 63, 1e308, -1e308, 5e-324, 65536, 99999999];

function hugeString(rng: Rng): string {
  const size = rng.pick([1_000, 64_000, 300_000, rng.chance(0.2) ? 3_200_000 : 100]);
  return rng.pick(["a", "é", "🙂", "\\", '"'] as const).repeat(size);
}

function deepNest(rng: Rng): unknown {
  const depth = rng.pick([50, 500, 3_000]);
  let v: unknown = "bottom";
  for (let i = 0; i < depth; i++) v = rng.chance(0.5) ? [v] : { d: v };
  return v;
}

function randomValue(rng: Rng, depth = 0): unknown {
  switch (rng.int(depth > 2 ? 6 : 8)) {
    case 0:
      return null;
    case 1:
      return rng.pick(WEIRD_NUMBERS);
    case 2:
      return rng.pick(WEIRD_STRINGS);
    case 3:
      return rng.chance(0.5);
    case 4:
      return rng.int(1000);
    case 5:
      return Math.random.name + rng.int(100);
    case 6:
      return Array.from({ length: rng.int(4) }, () => randomValue(rng, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: rng.int(4) }, () => [rng.pick(["a", "name", "spec", "metadata", "$patch", "x-y", ""]), randomValue(rng, depth + 1)]));
  }
}

/** Paths of every node in a JSON value. */
function nodePaths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (out.length > 400) return out;
  if (Array.isArray(v)) v.forEach((x, i) => nodePaths(x, [...prefix, i], out));
  else if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) nodePaths(x, [...prefix, k], out);
  return out;
}

function replaceAt(root: unknown, path: (string | number)[], f: (old: unknown) => unknown | typeof DELETE): unknown {
  if (path.length === 0) {
    const r = f(root);
    return r === DELETE ? {} : r;
  }
  let parent: any = root;
  for (const p of path.slice(0, -1)) parent = parent[p];
  const last = path[path.length - 1]!;
  const r = f(parent[last]);
  if (r === DELETE) {
    if (Array.isArray(parent)) parent.splice(last as number, 1);
    else delete parent[last];
  } else parent[last] = r;
  return root;
}
const DELETE = Symbol("delete");

function wrongType(rng: Rng, old: unknown): unknown {
  if (typeof old === "string") return rng.pick([42, true, [old], { value: old }, null]);
  if (typeof old === "number") return rng.pick([String(old), [old], { n: old }, false]);
  if (typeof old === "boolean") return rng.pick(["true", 1, [old]]);
  if (Array.isArray(old)) return rng.pick([{ ...old }, old[0] ?? "x", "[]", 0]);
  if (old && typeof old === "object") return rng.pick([[old], Object.values(old), JSON.stringify(old), 7]);
  return rng.pick(["x", 0, [], {}]);
}

function mutate(rng: Rng, obj: unknown): unknown {
  let root = structuredClone(obj);
  const n = rng.chance(0.6) ? 1 : 2 + rng.int(3);
  for (let i = 0; i < n; i++) {
    const paths = nodePaths(root);
    const path = rng.pick(paths);
    root = replaceAt(root, path, (old) => {
      switch (rng.int(11)) {
        case 0:
          return DELETE;
        case 1:
          return null;
        case 2:
          return wrongType(rng, old);
        case 3:
          return hugeString(rng);
        case 4:
          return deepNest(rng);
        case 5:
          return rng.pick(WEIRD_STRINGS);
        case 6:
          return rng.pick(WEIRD_NUMBERS);
        case 7:
          return Array.isArray(old) ? [] : [old, old];
        case 8:
          return old && typeof old === "object" && !Array.isArray(old) ? { ...old, [rng.pick(["unknownField", "$patch", "status", "__proto__", "constructor"])]: randomValue(rng) } : randomValue(rng);
        case 9:
          return Array.isArray(old) ? [...old, ...old] : old; // duplicates in lists (merge keys!)
        default:
          return randomValue(rng);
      }
    });
  }
  return root;
}

// ---------------------------------------------------------------- requests

interface FuzzRequest {
  index: number;
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  isWatch: boolean;
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = rng.int(256);
  return b;
}

function queryParams(rng: Rng, method: string, forceWatch: boolean): { query: string; isWatch: boolean } {
  const q = new URLSearchParams();
  let isWatch = forceWatch;
  const add = (k: string, values: readonly string[]) => q.append(k, rng.pick(values));
  if (method === "GET") {
    if (isWatch) q.set(rng.pick(["watch", "watch"] as const), rng.pick(["1", "true", "True"]));
    if (rng.chance(0.3)) add("limit", ["1", "2", "0", "-1", "500", "abc", "99999999999999999999", "1.5"]);
    if (rng.chance(0.15)) add("continue", ["garbage", "", "eyJydiI6MSwic3RhcnQiOiIvIn0", btoa(JSON.stringify({ rv: 1, start: "/registry/zzz" })), btoa("{}"), btoa("[1,2]"), "%%%", "a".repeat(5000)]);
    if (rng.chance(0.25)) add("labelSelector", ["app=web", "tier in (a,b)", "!tier", "app", "app!=x,tier notin (c)", "in (", "a=b=c", "=", "x in ()", "a".repeat(70) + "=b", "app=web,,", "🙂=1", "app==web"]);
    if (rng.chance(0.25)) add("fieldSelector", ["metadata.name=fuzz-a", "metadata.namespace!=default", "status.phase=Pending", "spec.nodeName=node-1", "spec.nope=x", "metadata.name", "=x", "metadata.name==a", "a=b,", "type=Opaque"]);
    if (rng.chance(0.2)) add("resourceVersion", ["0", "1", "", "-1", "abc", "99999999999", "1e3", "18446744073709551616"]);
    if (rng.chance(0.1)) add("resourceVersionMatch", ["NotOlderThan", "Exact", "bogus"]);
    if (rng.chance(0.1)) add("allowWatchBookmarks", ["true", "false", "maybe"]);
    if (rng.chance(0.1)) add("sendInitialEvents", ["true", "false", "x"]);
    if (!isWatch && rng.chance(0.05)) add("timeoutSeconds", ["-5", "abc", "1"]);
  }
  if (method !== "GET") {
    if (rng.chance(0.2)) add("dryRun", ["All", "all", "bogus", ""]);
    if (rng.chance(0.3)) add("fieldValidation", ["Strict", "Warn", "Ignore", "strict", "bogus"]);
    if (rng.chance(0.1)) add("fieldManager", ["kubectl", "", "a".repeat(200), "\u0001"]);
  }
  if (method === "DELETE") {
    if (rng.chance(0.3)) add("propagationPolicy", ["Foreground", "Background", "Orphan", "bogus"]);
    if (rng.chance(0.2)) add("gracePeriodSeconds", ["0", "30", "-1", "abc", "1e20"]);
    if (rng.chance(0.1)) add("orphanDependents", ["true", "false", "x"]);
  }
  if (rng.chance(0.05)) add("pretty", ["true", "1"]);
  if (rng.chance(0.03)) q.append(rng.pick(["", "=", "%", "a[b]"]), rng.pick(["", "%zz"]));
  const tail = rng.chance(0.02) ? rng.pick(["&%zz", "&limit=1&limit=2", "&&&", "&watch"]) : "";
  // A bare `watch` is a watch, as upstream reads booleans: it gets the same bounded timeout.
  if (tail === "&watch") isWatch = true;
  if (method === "GET" && isWatch) q.set("timeoutSeconds", String(WATCH_TIMEOUT_S));
  const query = q.toString() + tail;
  return { query: query ? `?${query}` : "", isWatch: isWatch || /(^|&|\?)watch(=|&|$)/.test(query) };
}

function resourcePath(rng: Rng, r: Resource, ns: string, name?: string, sub?: string): string {
  const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
  const scope = r.namespaced && (name !== undefined || rng.chance(0.85)) ? `/namespaces/${encodeURIComponent(ns)}` : "";
  return `${base}${scope}/${r.plural}${name !== undefined ? `/${encodeURIComponent(name)}` : ""}${sub ? `/${sub}` : ""}`;
}

function mutatePath(rng: Rng, path: string): string {
  switch (rng.int(8)) {
    case 0:
      return path + "/";
    case 1:
      return path + "/extra/segments";
    case 2:
      return path.replace(/\/v1\//, "/v2/");
    case 3:
      return path.replace(/[a-z]/, (c) => c.toUpperCase());
    case 4:
      return path.replace(/\/namespaces\/[^/]+/, "");
    case 5:
      return path + "/" + rng.pick(["status", "scale", "binding", "eviction", "log", "exec", "proxy", "attach", "finalize", "ephemeralcontainers", "..", "%2F"]);
    case 6:
      return path.replaceAll("/", "//");
    default:
      return path.slice(0, 1 + rng.int(path.length));
  }
}

const OTHER_PATHS = ["/", "/api", "/apis", "/api/v1", "/apis/apps", "/apis/apps/v1", "/apis/nope", "/apis/nope/v1", "/version", "/openapi/v2", "/openapi/v3", "/openapi/v3/api/v1", "/openapi/v3/apis/apps/v1", "/healthz", "/livez", "/readyz", "/metrics", "/api/v2", "/apis/apps/v2/deployments", "/api/v1/namespaces/default/widgets", "/%", "/api/v1/namespaces/default/configmaps/%zz"];

const CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "application/yaml", "application/vnd.kubernetes.protobuf", "text/plain", "application/xml", "multipart/form-data; boundary=x", "", "application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml", "APPLICATION/JSON", "*/*", "application/cbor"];
const PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json", "application/apply-patch+yaml"];
const ACCEPTS = ["application/json", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json", "application/json;as=Table;v=v1beta1;g=meta.k8s.io", "application/vnd.kubernetes.protobuf", "application/yaml", "text/html", "*/*", "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"];

function randomJsonPatch(rng: Rng, target: unknown): unknown {
  const paths = nodePaths(target).map((p) => "/" + p.map((s) => String(s).replaceAll("~", "~0").replaceAll("/", "~1")).join("/"));
  const pointer = () => rng.pick([...paths, "/spec/containers/-", "/metadata/labels/new", "/nope/deeper", "", "/", "no-slash", "/metadata/name", "/metadata/resourceVersion", "/~2", "/spec/containers/99", "/spec/containers/-1", "/apiVersion", "/kind"]);
  return Array.from({ length: 1 + rng.int(4) }, () => {
    const op = rng.pick(["add", "remove", "replace", "move", "copy", "test", "bogus", undefined]);
    const o: Record<string, unknown> = { op, path: pointer() };
    if (rng.chance(0.6)) o.value = rng.chance(0.5) ? randomValue(rng) : mutate(rng, { x: "y" });
    if (op === "move" || op === "copy" || rng.chance(0.1)) o.from = pointer();
    if (rng.chance(0.05)) delete o.path;
    return o;
  });
}

function randomStrategicPatch(rng: Rng, kind: string): unknown {
  let base: any = mutate(rng, { metadata: { labels: { app: "web", x: null } }, spec: {} });
  if (!base || typeof base !== "object" || Array.isArray(base)) base = { metadata: base };
  if (kind === "Deployment" || kind === "ReplicaSet" || kind === "DaemonSet" || kind === "Pod") {
    const containers = [
      { name: "app", image: "busybox:2", env: [{ name: "A", $patch: rng.pick(["delete", "replace", "merge", "bogus"]) }, { name: "NEW", value: "1" }] },
      { $patch: rng.pick(["delete", "replace", "bogus"]), name: rng.pick(["app", "missing", 7]) },
    ];
    const spec: any = { containers, [rng.pick(["$setElementOrder/containers", "$retainKeys", "$deleteFromPrimitiveList/finalizers", "$patch"])]: rng.pick([[{ name: "app" }], ["x"], "replace", null, 5]) };
    if (kind === "Pod") base.spec = spec;
    else base.spec = { template: { spec } };
  }
  return rng.chance(0.5) ? mutate(rng, base) : base;
}

function generate(index: number, resources: Resource[]): FuzzRequest {
  const rng = prng(requestSeed(index));
  const headers: Record<string, string> = {};
  let method = rng.pick(["GET", "GET", "GET", "POST", "POST", "PUT", "PATCH", "PATCH", "DELETE"]);
  let path: string;
  let body: string | Uint8Array | undefined;
  let kind = "ConfigMap";

  const r = rng.pick(resources);
  const ns = rng.chance(0.85) ? "default" : rng.pick(NAMESPACES);
  const name = rng.chance(0.8) ? rng.pick(NAMES.slice(0, 7)) : rng.pick(NAMES);
  const collection = method === "POST" || (method !== "PUT" && method !== "PATCH" && rng.chance(0.35));
  let sub: string | undefined;
  if (!collection && rng.chance(0.2)) sub = rng.pick(r.subresources.length ? r.subresources : ["status"]);
  if (method === "POST" && rng.chance(0.1) && r.plural === "pods") sub = rng.pick(["binding", "eviction"]);
  if (sub === "binding" || sub === "eviction") method = "POST";
  kind = sub === "scale" ? "Scale" : sub === "binding" ? "Binding" : sub === "eviction" ? "Eviction" : r.kind;

  if (rng.chance(0.06)) path = rng.pick(OTHER_PATHS);
  else path = resourcePath(rng, r, ns, collection && !sub ? undefined : name, sub);
  if (rng.chance(0.08)) path = mutatePath(rng, path);
  const { query, isWatch } = queryParams(rng, method, method === "GET" && rng.chance(0.025));

  // Bodies.
  if (method !== "GET" && !(method === "DELETE" && rng.chance(0.6))) {
    const objName = rng.chance(0.9) ? name : rng.pick(NAMES);
    const valid = method === "DELETE" ? validObject("DeleteOptions", objName) : validObject(kind, objName);
    if (method === "PATCH") {
      headers["content-type"] = rng.chance(0.9) ? rng.pick(PATCH_TYPES) : rng.pick(CONTENT_TYPES);
      const patch = headers["content-type"] === "application/json-patch+json" ? randomJsonPatch(rng, valid) : headers["content-type"] === "application/strategic-merge-patch+json" ? randomStrategicPatch(rng, kind) : mutate(rng, valid);
      body = headers["content-type"].includes("yaml") && rng.chance(0.7) ? Bun.YAML.stringify(patch) : JSON.stringify(patch);
    } else {
      headers["content-type"] = rng.chance(0.8) ? "application/json" : rng.pick(CONTENT_TYPES);
      const value = rng.chance(0.3) ? valid : mutate(rng, valid);
      body = headers["content-type"].includes("yaml") ? Bun.YAML.stringify(value) : JSON.stringify(value);
    }
    // Damage the encoding itself.
    switch (rng.int(14)) {
      case 0:
        body = body.slice(0, rng.int(body.length));
        break;
      case 1:
        body = randomBytes(rng, rng.pick([0, 1, 16, 1024, 70_000]));
        break;
      case 2: {
        // Kubernetes protobuf magic, then garbage or a truncated envelope.
        const junk = randomBytes(rng, rng.int(200));
        body = new Uint8Array([0x6b, 0x38, 0x73, 0x00, ...(rng.chance(0.5) ? [0x0a, rng.int(256), 0x0a, 0x02, 0x76, 0x31] : []), ...junk]);
        headers["content-type"] = "application/vnd.kubernetes.protobuf";
        break;
      }
      case 3:
        body = Bun.YAML.stringify(mutate(rng, valid)) + rng.pick(["", "\n---\nkind: Pod\n", "\n: :\n", "\t- bad\n", "&a [*a, *a]\n", "!!binary AAAA\n"]);
        break;
      case 4:
        body = rng.pick(["null", "[]", '"string"', "42", "true", "{}", "[{}]", "{\"a\":}", "{\"__proto__\":{\"polluted\":1}}", "\ufeff{}", "{\"metadata\":{\"name\":\"a\",\"name\":\"b\"}}"]);
        break;
      case 5:
        body = JSON.stringify(valid).replace(/"/, "'");
        break;
      default:
        break;
    }
  }
  if (rng.chance(0.1)) headers.accept = rng.pick(ACCEPTS);
  return { index, method, path: path + query, headers, body, isWatch };
}

// ---------------------------------------------------------------- the run

let s: TestServer;
let resources: Resource[] = [];

beforeAll(async () => {
  s = await startTestServer();
  const groups: string[] = ["/api/v1"];
  const apis = (await (await s.fetch("/apis")).json()) as any;
  for (const g of apis.groups) groups.push(`/apis/${g.preferredVersion.groupVersion}`);
  for (const gv of groups) {
    const list = (await (await s.fetch(gv)).json()) as any;
    const [group, version] = gv === "/api/v1" ? ["", "v1"] : (list.groupVersion as string).split("/");
    for (const res of list.resources) {
      if (res.name.includes("/")) continue;
      const subresources = list.resources.filter((x: any) => x.name.startsWith(`${res.name}/`)).map((x: any) => x.name.split("/")[1]);
      resources.push({ group: group!, version: version!, plural: res.name, kind: res.kind, namespaced: res.namespaced, subresources });
    }
  }
  // Something to hit: a namespace and a few objects under the names the fuzzer favours.
  const create = (path: string, obj: unknown) => s.fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(obj) }).then((r) => r.text());
  await create("/api/v1/namespaces", validObject("Namespace", "fuzz-ns"));
  await create("/api/v1/nodes", validObject("Node", "node-1"));
  for (const r of resources.filter((x) => x.namespaced)) {
    for (const name of ["fuzz-a", "web"]) await create(resourcePath(prng(1), r, "default", undefined), validObject(r.kind, name));
  }
}, 60_000);

afterAll(async () => {
  await s?.cleanup();
});

interface Failure {
  request: FuzzRequest;
  problem: string;
  status?: number;
  response?: string;
}

function describeRequest(r: FuzzRequest): string {
  const body = r.body === undefined ? "(none)" : typeof r.body === "string" ? JSON.stringify(r.body.length > 600 ? r.body.slice(0, 600) + `… (${r.body.length} chars)` : r.body) : `${r.body.length} bytes: ${Buffer.from(r.body.slice(0, 64)).toString("hex")}…`;
  return `#${r.index} ${r.method} ${r.path.length > 300 ? r.path.slice(0, 300) + "…" : r.path}\n  headers: ${JSON.stringify(r.headers)}\n  body: ${body}`;
}

/**
 * A 503 from pods/log, exec, attach, portforward or a proxy subresource is the server saying the
 * agent, pod or Service behind it cannot be reached (the fuzzed nodes have no agent): by design.
 */
const agentUnavailable = (r: FuzzRequest, status: number, body: any) =>
  status === 503 && /\/(pods\/[^/?]+\/(log|exec|attach|portforward|proxy)|(services|nodes)\/[^/?]+\/proxy)(\/|\?|$)/.test(r.path) && body?.reason === "ServiceUnavailable";

/** Upstream's answer to evicting a pod that more than one PodDisruptionBudget selects is a 500. */
const severalBudgets = (r: FuzzRequest, status: number, body: any) =>
  status === 500 && /\/pods\/[^/?]+\/eviction(\?|$)/.test(r.path) && body?.reason === "InternalError" && /more than one PodDisruptionBudget/.test(body?.message ?? "");

async function send(r: FuzzRequest, token: string): Promise<{ failure?: Failure; status: number }> {
  const failure = await check(r, token);
  return { failure: failure === undefined || typeof failure === "number" ? undefined : failure, status: typeof failure === "number" ? failure : (failure?.status ?? 0) };
}

/** The HTTP status when the answer is fine, else what is wrong with it. */
async function check(r: FuzzRequest, token: string): Promise<Failure | number> {
  const headers = { ...r.headers };
  // A few requests without credentials, or with wrong ones: those must be 401 Status too.
  const auth = prng(requestSeed(r.index) ^ 0xabcdef).next();
  if (auth > 0.02) headers.authorization = auth < 0.03 ? "Bearer wrong" : `Bearer ${token}`;
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${s.url}${r.path}`, { method: r.method, headers, body: r.body, tls: { ca: s.ca() }, signal: AbortSignal.timeout(REQUEST_DEADLINE_MS) });
    text = await res.text();
  } catch (e) {
    return { request: r, problem: `no complete answer: ${(e as Error).name}: ${(e as Error).message}` };
  }
  const status = res.status;
  let parsed: any;
  try {
    parsed = JSON.parse(text);
  } catch {}
  if (status >= 500 && !agentUnavailable(r, status, parsed) && !severalBudgets(r, status, parsed)) return { request: r, problem: `${status} answer`, status, response: text.slice(0, 2000) };
  if (status < 200 || (status >= 300 && status < 400)) return { request: r, problem: `unexpected status ${status}`, status, response: text.slice(0, 500) };
  if (status >= 400) {
    if (!parsed || parsed.kind !== "Status" || parsed.apiVersion !== "v1" || parsed.status !== "Failure")
      return { request: r, problem: "error body is not a Failure Status", status, response: text.slice(0, 500) };
    if (parsed.code !== status) return { request: r, problem: `Status.code ${parsed.code} != HTTP ${status}`, status, response: text.slice(0, 500) };
    if (typeof parsed.message !== "string" || !parsed.reason) return { request: r, problem: "Status without message or reason", status, response: text.slice(0, 500) };
    if (!(res.headers.get("content-type") ?? "").startsWith("application/json")) return { request: r, problem: `error content-type ${res.headers.get("content-type")}`, status, response: text.slice(0, 200) };
  }
  return status;
}

/** Raw request helper for the fixed cases: the answer's status and parsed body. */
async function raw(path: string, init: RequestInit & { headers?: Record<string, string> } = {}) {
  const res = await s.fetch(path, init);
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {}
  return { status: res.status, body };
}
const CM_PATH = "/api/v1/namespaces/default/configmaps";

describe("inputs that once broke the server (fixed cases)", () => {
  test("a malformed %-escape in the path is a 400 Status", async () => {
    for (const method of ["GET", "PUT", "DELETE"]) {
      const r = await raw(`${CM_PATH}/%zz`, { method, headers: { "content-type": "application/json" }, body: method === "PUT" ? "{}" : undefined });
      expect(r).toMatchObject({ status: 400, body: { kind: "Status", code: 400, reason: "BadRequest" } });
    }
  });

  test("a body over 3 MiB is a 413 Status, with or without Content-Length", async () => {
    const big = JSON.stringify({ metadata: { name: "big" }, data: { a: "x".repeat(6_400_000) } });
    const sized = await raw(CM_PATH, { method: "POST", headers: { "content-type": "application/json" }, body: big });
    expect(sized).toMatchObject({ status: 413, body: { kind: "Status", code: 413, reason: "RequestEntityTooLarge" } });
    const chunked = await raw(CM_PATH, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: new ReadableStream({
        start(c) {
          for (let i = 0; i < 7; i++) c.enqueue(new TextEncoder().encode(i === 0 ? big.slice(0, 1_000_000) : "x".repeat(1_000_000)));
          c.close();
        },
      }),
    });
    expect(chunked).toMatchObject({ status: 413, body: { kind: "Status", code: 413 } });
    expect((await raw(`${CM_PATH}/big`)).status).toBe(404);
  });

  test("deep nesting, lone surrogates, NUL bytes and protobuf garbage are 4xx Statuses", async () => {
    let deep: unknown = "x";
    for (let i = 0; i < 20_000; i++) deep = { d: deep };
    const cases: [string, string | Uint8Array][] = [
      ["application/json", JSON.stringify({ metadata: { name: "deep" }, data: deep })],
      ["application/json", "[".repeat(100_000) + "]".repeat(100_000)],
      ["application/merge-patch+json", JSON.stringify({ metadata: { annotations: { a: "\ud800" } } })],
      ["application/json", JSON.stringify({ metadata: { name: "nul\u0000" }, data: { "a\u0000": "b" } })],
      ["application/vnd.kubernetes.protobuf", new Uint8Array([0x6b, 0x38, 0x73, 0x00, 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f])],
      ["application/yaml", "a: &a [*a, *a, *a]\n".repeat(10)],
    ];
    for (const [type, body] of cases) {
      const method = type.includes("patch") ? "PATCH" : "POST";
      const r = await raw(method === "PATCH" ? `${CM_PATH}/fuzz-a` : CM_PATH, { method, headers: { "content-type": type }, body });
      expect({ type, status: r.status < 500, kind: r.body?.kind, code: r.body?.code === r.status }).toEqual({ type, status: true, kind: r.status >= 400 ? "Status" : "ConfigMap", code: r.status >= 400 });
    }
  });
});

/**
 * Error lines in the server's log that fuzzing may rightly cause. Bad input is the client's
 * problem and is answered with a 4xx, never logged as the server's error, so this list is empty:
 * an entry needs a reason why the server is right to log an error for a request it was sent.
 */
const EXPECTED_SERVER_ERRORS: RegExp[] = [];

/** The server's error lines (klog's E prefix, or an unexpected or unhandled error) that no entry above explains. */
function unexpectedServerErrors(log: string): string[] {
  return log.split("\n").filter((l) => (/^E\d{4}/.test(l) || /unexpected error|unhandled error/i.test(l)) && !EXPECTED_SERVER_ERRORS.some((r) => r.test(l)));
}

describe("fuzz", () => {
  test(`${ONLY ? ONLY.length : REQUESTS} random and mutated requests: only 2xx/4xx, errors are Status, server survives`, async () => {
    expect(resources.length).toBeGreaterThan(5);
    const token = s.token();
    const indices = ONLY ?? Array.from({ length: REQUESTS }, (_, i) => i);
    const failures: Failure[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    let serverDied = false;
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < indices.length && !serverDied) {
          const req = generate(indices[next++]!, resources);
          const { failure, status } = await send(req, token);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (failure) failures.push(failure);
          if (failure?.problem.startsWith("no complete answer") && (s.proc.exitCode !== null || s.proc.signalCode !== null)) serverDied = true;
        }
      }),
    );
    console.log(`fuzz: answers by status: ${[...statuses].sort(([a], [b]) => a - b).map(([k, n]) => `${k}×${n}`).join(" ")}`);

    const report = failures
      .slice(0, 15)
      .map((f) => `${f.problem}${f.status ? ` (HTTP ${f.status})` : ""}\n${describeRequest(f.request)}${f.response ? `\n  response: ${f.response}` : ""}`)
      .join("\n\n");
    const serverErrors = unexpectedServerErrors(s.log);
    if (serverErrors.length) console.error(`fuzz: the server logged ${serverErrors.length} errors; the first ones:\n${serverErrors.slice(0, 8).map((l) => l.slice(0, 1500)).join("\n")}`);
    if (failures.length) console.error(`fuzz: ${failures.length} failing requests (seed ${SEED}; replay one with FUZZ_SEED=${SEED} FUZZ_ONLY=${failures.slice(0, 10).map((f) => f.request.index).join(",")})\n\n${report}`);
    expect({ seed: SEED, serverDied, failures: failures.length, serverErrors: serverErrors.length }).toEqual({ seed: SEED, serverDied: false, failures: 0, serverErrors: 0 });

    // Still alive and useful.
    const ready = await fetch(`${s.url}/readyz`, { tls: { ca: s.ca() } });
    expect(ready.status).toBe(200);
    const ns = await s.kubectl("get", "ns", "-o", "name");
    expect(ns.stderr).toBe("");
    expect(ns.stdout).toContain("namespace/kube-system");
    expect(s.proc.exitCode).toBeNull();
  });
});
