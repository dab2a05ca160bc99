// Node authorization against a real `bramble server` process, with a real node credential (a
// bootstrap token exchanged at the join endpoint, as `bramble agent` does): what a kubelet
// needs works, and a node reaches nothing else — in particular not through a field selector the
// authorizer and the list handler would read differently.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { formatToken, generateToken, tokenSecret } from "../src/server/auth/bootstrap-token";
import { JOIN_PATH } from "../src/server/join/paths";
import { parseJson, startTestServer, type TestServer } from "./helpers/server";

const NODE = "edge-1";
let s: TestServer;
let nodeToken: string;

const asNode = (path: string, init: RequestInit = {}) =>
  fetch(s.url + path, { ...init, headers: { authorization: `Bearer ${nodeToken}`, ...(init.headers ?? {}) }, tls: { ca: s.ca() } });
const q = (selector: string) => `fieldSelector=${encodeURIComponent(selector)}`;
const names = async (r: Response) => ((await r.json()) as { items: { metadata: { name: string } }[] }).items.map((i) => i.metadata.name).sort();
const nodeManifest = (labels: Record<string, string>) =>
  JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name: NODE, labels }, spec: { taints: [{ key: "dedicated", value: "edge", effect: "NoSchedule" }] } });
const apply = async (obj: unknown) => expect((await s.kubectlWith({ stdin: JSON.stringify(obj) }, "apply", "-f", "-")).code).toBe(0);

beforeAll(async () => {
  s = await startTestServer();
  const bootstrap = generateToken();
  expect((await s.kubectlWith({ stdin: JSON.stringify(tokenSecret(bootstrap, { ttlSeconds: 600 })) }, "create", "-f", "-")).code).toBe(0);
  const joined = await fetch(s.url + JOIN_PATH, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: formatToken(bootstrap), nodeName: NODE }), tls: { ca: s.ca() } });
  expect(joined.status).toBe(200);
  nodeToken = ((await joined.json()) as { token: string }).token;

  // The node registers itself; the pod garbage collector would remove pods bound to missing Nodes.
  const registered = await asNode("/api/v1/nodes", { method: "POST", headers: { "content-type": "application/json" }, body: nodeManifest({ "kubernetes.io/hostname": NODE }) });
  expect(registered.status).toBe(201);
  await apply({ apiVersion: "v1", kind: "Node", metadata: { name: "elsewhere" } });
  for (const name of ["app-tls", "db-password", "unrelated"]) await apply({ apiVersion: "v1", kind: "Secret", metadata: { name }, stringData: { k: name } });
  for (const name of ["app-env", "other"]) await apply({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { k: name } });
  const pod = (name: string, nodeName: string, secret: string, configMap?: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: {
      nodeName,
      volumes: [{ name: "s", secret: { secretName: secret } }],
      containers: [{ name: "c", image: "busybox", ...(configMap ? { envFrom: [{ configMapRef: { name: configMap } }] } : {}) }],
    },
  });
  await apply(pod("web", NODE, "app-tls", "app-env"));
  await apply(pod("db", "elsewhere", "db-password"));
});

afterAll(async () => {
  await s?.cleanup();
});

test("an escaped comma in a field selector does not make a list of Secrets or ConfigMaps a read of one", async () => {
  for (const [resource, referenced] of [["secrets", "app-tls"], ["configmaps", "app-env"]]) {
    const selector = `metadata.name!=x\\,metadata.name=${referenced}`;
    // What that selector means to the list handler: one requirement, so it selects everything.
    const admin = await s.fetch(`/api/v1/namespaces/default/${resource}?${q(selector)}`);
    expect(admin.status).toBe(200);
    expect((await names(admin)).length).toBeGreaterThan(1);

    for (const verb of ["", "watch=1&"]) {
      const r = await asNode(`/api/v1/namespaces/default/${resource}?${verb}${q(selector)}`);
      expect(r.status).toBe(403);
      expect(await r.json()).toMatchObject({ kind: "Status", reason: "Forbidden", code: 403 });
    }
    // Other spellings of "everything" are refused as well.
    for (const other of [`metadata.name!=${referenced}`, "", `metadata.name=${referenced}\\,x`]) {
      expect((await asNode(`/api/v1/namespaces/default/${resource}?${q(other)}`)).status).toBe(403);
    }
    expect((await asNode(`/api/v1/${resource}`)).status).toBe(403);
  }
  const refused = (await (await asNode(`/api/v1/namespaces/default/secrets?${q("metadata.name!=x\\,metadata.name=app-tls")}`)).json()) as { message: string };
  expect(refused.message).toBe('secrets is forbidden: User "system:node:edge-1" cannot list resource "secrets" in API group "" in the namespace "default": No Object name found');
});

test("the kubelet's reads work: the Secrets and ConfigMaps its pods refer to, by name or by a selector on the name", async () => {
  const get = await asNode("/api/v1/namespaces/default/secrets/app-tls");
  expect(get.status).toBe(200);
  expect(((await get.json()) as { metadata: { name: string } }).metadata.name).toBe("app-tls");
  expect((await asNode("/api/v1/namespaces/default/configmaps/app-env")).status).toBe(200);
  const list = await asNode(`/api/v1/namespaces/default/secrets?${q("metadata.name=app-tls")}`);
  expect(list.status).toBe(200);
  expect(await names(list)).toEqual(["app-tls"]);

  // A watch on the name streams that object (the first event is its ADDED).
  const ctl = new AbortController();
  const watch = await asNode(`/api/v1/namespaces/default/configmaps?watch=true&${q("metadata.name=app-env")}`, { signal: ctl.signal });
  expect(watch.status).toBe(200);
  const reader = watch.body!.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) break;
    text += new TextDecoder().decode(value);
  }
  ctl.abort();
  expect(JSON.parse(text.split("\n")[0])).toMatchObject({ type: "ADDED", object: { metadata: { name: "app-env" } } });

  // Not referenced by any pod on this node (the db pod is on another node), or not referenced at all.
  for (const path of ["secrets/db-password", "secrets/unrelated", "configmaps/other"]) {
    const r = await asNode(`/api/v1/namespaces/default/${path}`);
    expect(r.status).toBe(403);
    expect(((await r.json()) as { message: string }).message).toEndWith("no relationship found between node 'edge-1' and this object");
  }
  expect((await asNode(`/api/v1/namespaces/default/secrets?${q("metadata.name=db-password")}`)).status).toBe(403);

  // The real kubectl with the node's token sees the same.
  const kubectlAsNode = (...args: string[]) => s.kubectl("--token", nodeToken, ...args);
  expect((await kubectlAsNode("get", "secret", "app-tls", "-o", "name")).stdout.trim()).toBe("secret/app-tls");
  const all = await kubectlAsNode("get", "secrets");
  expect(all.code).not.toBe(0);
  expect(all.stderr).toContain('User "system:node:edge-1" cannot list resource "secrets"');
});

test("pods: listed only with the node's own spec.nodeName, parsed the same way; status and deletes only of its own pods", async () => {
  const own = await asNode(`/api/v1/pods?${q(`spec.nodeName=${NODE}`)}`);
  expect(own.status).toBe(200);
  expect(await names(own)).toEqual(["web"]);
  // spec.nodeName != "x,spec.nodeName=edge-1": every pod not on that odd node, so refused.
  expect((await asNode(`/api/v1/pods?${q(`spec.nodeName!=x\\,spec.nodeName=${NODE}`)}`)).status).toBe(403);
  expect((await asNode(`/api/v1/pods?${q("spec.nodeName=elsewhere")}`)).status).toBe(403);
  expect((await asNode("/api/v1/pods")).status).toBe(403);
  // One bound pod by name is fine; a pod on another node is not.
  expect((await asNode(`/api/v1/namespaces/default/pods?${q("metadata.name=web")}`)).status).toBe(200);
  expect((await asNode(`/api/v1/namespaces/default/pods?${q("metadata.name=db")}`)).status).toBe(403);

  const merge = { "content-type": "application/merge-patch+json" };
  const ownStatus = await asNode("/api/v1/namespaces/default/pods/web/status", { method: "PATCH", headers: merge, body: JSON.stringify({ status: { message: "seen" } }) });
  expect(ownStatus.status).toBe(200);
  const otherStatus = await asNode("/api/v1/namespaces/default/pods/db/status", { method: "PATCH", headers: merge, body: JSON.stringify({ status: { message: "hijacked" } }) });
  expect(otherStatus.status).toBe(403);
  expect((await asNode("/api/v1/namespaces/default/pods/db", { method: "DELETE" })).status).toBe(403);
  expect((await s.kubectl("get", "pod", "db")).code).toBe(0);
  expect((await asNode("/api/v1/namespaces/default/pods/web", { method: "PATCH", headers: merge, body: JSON.stringify({ metadata: { labels: { x: "y" } } }) })).status).toBe(403);
});

test("its own Node (registered by the node, with its taint): patched by the node, but not its node-restriction labels or taints, and never deleted", async () => {
  const merge = { "content-type": "application/merge-patch+json" };
  const claimed = await asNode("/api/v1/nodes", { method: "POST", headers: { "content-type": "application/json" }, body: nodeManifest({ "node-restriction.kubernetes.io/pool": "gpu" }) });
  expect(claimed.status).toBe(403);
  expect(((await claimed.json()) as { message: string }).message).toEndWith('node "edge-1" is not allowed to set the following labels: node-restriction.kubernetes.io/pool');

  expect((await asNode(`/api/v1/nodes/${NODE}`, { method: "PATCH", headers: merge, body: JSON.stringify({ metadata: { labels: { zone: "attic" } } }) })).status).toBe(200);
  const relabel = await asNode(`/api/v1/nodes/${NODE}`, { method: "PATCH", headers: merge, body: JSON.stringify({ metadata: { labels: { "node-restriction.kubernetes.io/pool": "gpu" } } }) });
  expect(relabel.status).toBe(403);
  const untaint = await asNode(`/api/v1/nodes/${NODE}`, { method: "PATCH", headers: merge, body: JSON.stringify({ spec: { taints: null } }) });
  expect(untaint.status).toBe(403);
  expect(((await untaint.json()) as { message: string }).message).toEndWith('node "edge-1" is not allowed to modify taints');
  // The admin may set the label; the node may not then remove it, whatever the patch format.
  expect((await s.kubectl("label", "node", NODE, "node-restriction.kubernetes.io/pool=gpu")).code).toBe(0);
  const remove = await asNode(`/api/v1/nodes/${NODE}`, { method: "PATCH", headers: { "content-type": "application/json-patch+json" }, body: JSON.stringify([{ op: "remove", path: "/metadata/labels/node-restriction.kubernetes.io~1pool" }]) });
  expect(remove.status).toBe(403);
  expect((await asNode(`/api/v1/nodes/${NODE}`, { method: "DELETE" })).status).toBe(403);
  // Through status only status changes: the label there is ignored, not applied.
  const viaStatus = await asNode(`/api/v1/nodes/${NODE}/status`, { method: "PATCH", headers: merge, body: JSON.stringify({ metadata: { labels: { "node-restriction.kubernetes.io/pool": "cpu" } }, spec: { taints: [] }, status: { phase: "Running" } }) });
  expect(viaStatus.status).toBe(200);
  const stored = parseJson(await s.kubectl("get", "node", NODE, "-o", "json"));
  expect(stored.metadata.labels).toMatchObject({ "node-restriction.kubernetes.io/pool": "gpu", zone: "attic" });
  expect(stored.spec.taints).toEqual([{ key: "dedicated", value: "edge", effect: "NoSchedule" }]);
});

test("a malformed selector is the handler's 400 for the admin and a 403 for a node", async () => {
  const bad = q("metadata.name=app-tls,\\q");
  const admin = await s.fetch(`/api/v1/namespaces/default/secrets?${bad}`);
  expect(admin.status).toBe(400);
  expect(await admin.json()).toMatchObject({ kind: "Status", reason: "BadRequest", code: 400 });
  expect((await asNode(`/api/v1/namespaces/default/secrets?${bad}`)).status).toBe(403);
});
