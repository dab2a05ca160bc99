import { expect, test } from "bun:test";
import type { KubeObject } from "../../api/meta";
import { ADMIN } from "./authenticator";
import type { ResourceDef } from "../../api/resource";
import { configMaps } from "../../api/resources/core/configmap";
import { nodes } from "../../api/resources/core/node";
import { pods as podsDef } from "../../api/resources/core/pod";
import { secrets } from "../../api/resources/core/secret";
import { serviceAccounts } from "../../api/resources/core/serviceaccount";
import { namespaces } from "../../api/resources/core/namespace";
import { createAuthorizer, forbiddenMessage, type AuthorizerView, type RequestAttributes } from "./authorizer";
import { createNodeAuthenticator, newNodeCredential, nodeCredentialSecret, nodeUser } from "./node-credentials";
import { requestAttributes } from "./request-attributes";

const pods: KubeObject[] = [
  { metadata: { name: "web", namespace: "default" }, spec: { nodeName: "a", volumes: [{ name: "v", secret: { secretName: "tls" } }], containers: [{ name: "c", envFrom: [{ configMapRef: { name: "env" } }] }] } } as KubeObject,
  { metadata: { name: "db", namespace: "default" }, spec: { nodeName: "b", volumes: [{ name: "v", secret: { secretName: "db-password" } }], containers: [] } } as KubeObject,
];
const storedNodes: KubeObject[] = [
  { metadata: { name: "a", labels: { "node-restriction.kubernetes.io/pool": "gpu", zone: "x" } }, spec: { taints: [{ key: "k", effect: "NoSchedule" }] } } as KubeObject,
  { metadata: { name: "c", labels: {} }, spec: {} } as KubeObject,
];
const view: AuthorizerView = {
  getPod: (ns, name) => pods.find((p) => p.metadata.namespace === ns && p.metadata.name === name),
  getNode: (name) => storedNodes.find((n) => n.metadata.name === name),
  podsOnNode: (ns: string, node: string) => pods.filter((p) => p.metadata.namespace === ns && (p as { spec?: { nodeName?: string } }).spec?.nodeName === node),
};
const authorize = createAuthorizer(view);
const node = nodeUser("a");
const can = async (attrs: Partial<RequestAttributes>, user = node) =>
  (await authorize(user, { verb: "get", group: "", resource: "nodes", ...attrs } as RequestAttributes)).allowed;

test("admins may do anything; unknown users nothing", async () => {
  expect(await can({ verb: "delete", group: "apps", resource: "deployments", namespace: "x", name: "y" }, ADMIN)).toBe(true);
  expect(await can({ verb: "get", resource: "nodes" }, { user: "bob", groups: ["system:authenticated"] })).toBe(false);
});

test("a node writes only its own Node and Lease", async () => {
  expect(await canRequest("PATCH", nodes, { name: "a", body: { metadata: { annotations: { x: "y" } } }, contentType: "application/merge-patch+json" })).toBe(true);
  expect(await canRequest("PUT", nodes, { name: "a", subresource: "status", body: storedNodes[0], contentType: "application/json" })).toBe(true);
  expect(await can({ verb: "patch", name: "b" })).toBe(false);
  expect(await canRequest("POST", nodes, { body: { metadata: { name: "a" } }, contentType: "application/json" })).toBe(true);
  expect(await canRequest("POST", nodes, { body: { metadata: { name: "b" } }, contentType: "application/json" })).toBe(false);
  expect(await can({ verb: "list" })).toBe(true);
  expect(await can({ verb: "deletecollection" })).toBe(false);
  expect(await can({ verb: "delete", name: "a" })).toBe(false);
  const lease = { group: "coordination.k8s.io", resource: "leases", namespace: "kube-node-lease" };
  expect(await can({ ...lease, verb: "update", name: "a" })).toBe(true);
  expect(await can({ ...lease, verb: "update", name: "b" })).toBe(false);
  expect(await can({ ...lease, verb: "create", bodyName: async () => "a" })).toBe(true);
  expect(await can({ ...lease, verb: "get", name: "a", namespace: "default" })).toBe(false);
});

/** The decision for a real HTTP request, through the same request attributes the API server builds. */
async function canRequest(method: string, def: ResourceDef, o: { namespace?: string; name?: string; subresource?: string; query?: string; body?: unknown; contentType?: string }, user = node) {
  const url = new URL(`https://api.test/whatever${o.query ? `?${o.query}` : ""}`);
  const body = o.body === undefined ? undefined : typeof o.body === "string" ? o.body : JSON.stringify(o.body);
  const req = new Request(url.href, { method, body, headers: o.contentType ? { "content-type": o.contentType } : {} });
  return (await authorize(user, requestAttributes(req, url, { def, namespace: o.namespace, name: o.name, subresource: o.subresource }))).allowed;
}
const fieldSelector = (s: string) => `fieldSelector=${encodeURIComponent(s)}`;

test("pods: only those bound to the node, status, delete and eviction; lists filtered to the node", async () => {
  const pod = { namespace: "default" };
  expect(await canRequest("PATCH", podsDef, { ...pod, name: "web", subresource: "status", body: {} })).toBe(true);
  expect(await canRequest("DELETE", podsDef, { ...pod, name: "web" })).toBe(true);
  expect(await canRequest("GET", podsDef, { ...pod, name: "web" })).toBe(true);
  expect(await canRequest("POST", podsDef, { ...pod, name: "web", subresource: "eviction", body: {} })).toBe(true);
  expect(await canRequest("POST", podsDef, { ...pod, name: "db", subresource: "eviction", body: {} })).toBe(false);
  expect(await canRequest("PATCH", podsDef, { ...pod, name: "web", body: {} })).toBe(false); // spec is not the node's
  expect(await canRequest("GET", podsDef, { ...pod, name: "web", subresource: "status" })).toBe(false);
  // Even on its own pods, a node may not open port-forwards (as upstream's Node authorizer).
  expect(await canRequest("GET", podsDef, { ...pod, name: "web", subresource: "portforward" })).toBe(false);
  expect(await canRequest("POST", podsDef, { ...pod, name: "web", subresource: "portforward" })).toBe(false);
  expect(await canRequest("PATCH", podsDef, { ...pod, name: "db", subresource: "status", body: {} })).toBe(false);
  expect(await canRequest("GET", podsDef, { ...pod, name: "db" })).toBe(false);
  expect(await canRequest("GET", podsDef, { ...pod, name: "gone" })).toBe(false);
  expect(await canRequest("POST", podsDef, { ...pod, body: {} })).toBe(false);
  expect(await canRequest("GET", podsDef, { query: `watch=1&${fieldSelector("spec.nodeName=a")}` })).toBe(true);
  expect(await canRequest("GET", podsDef, { query: fieldSelector("status.phase=Running,spec.nodeName==a") })).toBe(true);
  expect(await canRequest("GET", podsDef, {})).toBe(false);
  expect(await canRequest("GET", podsDef, { query: fieldSelector("spec.nodeName=b") })).toBe(false);
  expect(await canRequest("GET", podsDef, { query: fieldSelector("spec.nodeName!=a") })).toBe(false);
  // One value with an escaped comma is not two requirements: this selects every pod not on x.
  expect(await canRequest("GET", podsDef, { query: fieldSelector("spec.nodeName!=x\\,spec.nodeName=a") })).toBe(false);
  // One pod by name, when it is bound to the node.
  expect(await canRequest("GET", podsDef, { ...pod, query: `watch=true&${fieldSelector("metadata.name=web")}` })).toBe(true);
  expect(await canRequest("GET", podsDef, { ...pod, query: fieldSelector("metadata.name=db") })).toBe(false);
});

test("pods: while network policies are enforced, lists and watches of every pod (their peers), gets still only of its own", async () => {
  const enforcing = createAuthorizer({ ...view, networkPolicy: true });
  const decide = async (method: string, o: { namespace?: string; name?: string; query?: string }) => {
    const url = new URL(`https://api.test/whatever${o.query ? `?${o.query}` : ""}`);
    return (await enforcing(node, requestAttributes(new Request(url.href, { method }), url, { def: podsDef, namespace: o.namespace, name: o.name }))).allowed;
  };
  expect(await decide("GET", {})).toBe(true);
  expect(await decide("GET", { query: `watch=1&${fieldSelector("spec.nodeName=b")}` })).toBe(true);
  expect(await decide("GET", { namespace: "default", name: "web" })).toBe(true);
  expect(await decide("GET", { namespace: "default", name: "db" })).toBe(false);
});

test("secrets and configmaps: only those its pods refer to, one by name; a list is judged on the selector as the list handler parses it", async () => {
  const ns = { namespace: "default" };
  expect(await canRequest("GET", secrets, { ...ns, name: "tls" })).toBe(true);
  expect(await canRequest("GET", secrets, { ...ns, name: "db-password" })).toBe(false);
  expect(await canRequest("GET", secrets, ns)).toBe(false);
  expect(await canRequest("GET", secrets, {})).toBe(false);
  expect(await canRequest("GET", secrets, { ...ns, query: `watch=1&${fieldSelector("metadata.name=tls")}` })).toBe(true);
  expect(await canRequest("GET", secrets, { ...ns, query: fieldSelector("metadata.name==tls") })).toBe(true);
  expect(await canRequest("GET", secrets, { ...ns, name: "tls", query: "watch=1" })).toBe(true);
  // `metadata.name!=x\,metadata.name=tls` is one requirement, name != "x,metadata.name=tls": it
  // selects every Secret, so it must not pass as a read of "tls".
  expect(await canRequest("GET", secrets, { ...ns, query: fieldSelector("metadata.name!=x\\,metadata.name=tls") })).toBe(false);
  expect(await canRequest("GET", configMaps, { ...ns, query: fieldSelector("metadata.name!=x\\,metadata.name=env") })).toBe(false);
  expect(await canRequest("GET", secrets, { ...ns, query: fieldSelector("metadata.name!=tls") })).toBe(false);
  expect(await canRequest("GET", secrets, { ...ns, query: fieldSelector("type=Opaque") })).toBe(false);
  // A selector that does not parse names nothing (the handler answers it with a 400).
  expect(await canRequest("GET", secrets, { ...ns, query: fieldSelector("metadata.name=tls,\\q") })).toBe(false);
  // Two names: the first pins the request, and the handler's AND of both selects at most it.
  expect(await canRequest("GET", secrets, { ...ns, query: fieldSelector("metadata.name=tls,metadata.name=db-password") })).toBe(true);
  expect(await canRequest("GET", secrets, { ...ns, query: fieldSelector("metadata.name=db-password,metadata.name=tls") })).toBe(false);
  expect(await canRequest("DELETE", secrets, { ...ns, query: fieldSelector("metadata.name=tls") })).toBe(false);
  expect(await canRequest("GET", configMaps, { ...ns, name: "env" })).toBe(true);
  expect(await can({ resource: "secrets", namespace: "default", verb: "update", name: "tls" })).toBe(false);
  // Every node reads the cluster's networking settings, and no other kube-system ConfigMap.
  expect(await can({ resource: "configmaps", namespace: "kube-system", verb: "get", name: "bramble-cluster-network" })).toBe(true);
  expect(await can({ resource: "configmaps", namespace: "kube-system", verb: "get", name: "other" })).toBe(false);
  expect(await can({ resource: "configmaps", namespace: "kube-system", verb: "update", name: "bramble-cluster-network" })).toBe(false);
});

test("a node keeps away from its restricted labels and its taints (upstream's NodeRestriction)", async () => {
  const merge = "application/merge-patch+json";
  const create = (labels: Record<string, string>) => canRequest("POST", nodes, { body: { metadata: { name: "a", labels } }, contentType: "application/json" });
  expect(await create({ "kubernetes.io/hostname": "a" })).toBe(true);
  expect(await create({ "node-restriction.kubernetes.io/pool": "gpu" })).toBe(false);
  expect(await create({ "team.node-restriction.kubernetes.io/x": "y" })).toBe(false);
  const patch = (body: unknown, contentType = merge, subresource?: string) => canRequest("PATCH", nodes, { name: "a", subresource, body, contentType });
  expect(await patch({ metadata: { labels: { zone: "y" } } })).toBe(true);
  expect(await patch({ status: { conditions: [] } }, merge, "status")).toBe(true);
  // A status write changes only status, whatever else its body says.
  expect(await patch({ metadata: { labels: { "node-restriction.kubernetes.io/pool": "cpu" } }, status: {} }, merge, "status")).toBe(true);
  expect(await patch({ metadata: { labels: { "node-restriction.kubernetes.io/pool": "cpu" } } })).toBe(false);
  expect(await patch({ metadata: { labels: { "node-restriction.kubernetes.io/pool": null } } }, "application/strategic-merge-patch+json")).toBe(false);
  expect(await patch({ metadata: { labels: null } })).toBe(false);
  expect(await patch({ metadata: { labels: { $patch: "replace", zone: "x" } } }, "application/strategic-merge-patch+json")).toBe(false);
  expect(await patch({ spec: { taints: [] } })).toBe(false);
  expect(await patch({ spec: { unschedulable: true } })).toBe(true);
  expect(await patch([{ op: "remove", path: "/metadata/labels/node-restriction.kubernetes.io~1pool" }], "application/json-patch+json")).toBe(false);
  expect(await patch([{ op: "replace", path: "/metadata/labels", value: {} }], "application/json-patch+json")).toBe(false);
  expect(await patch([{ op: "remove", path: "/spec/taints/0" }], "application/json-patch+json")).toBe(false);
  expect(await patch([{ op: "add", path: "/metadata/labels/zone", value: "y" }], "application/json-patch+json")).toBe(true);
  expect(await patch([{ op: "replace", path: "/metadata", value: { labels: { zone: "x" } } }], "application/json-patch+json")).toBe(false);
  expect(await patch([{ op: "replace", path: "/spec", value: {} }], "application/json-patch+json")).toBe(false);
  // A node with no restricted label yet cannot gain one by replacing the whole map either.
  const jsonPatchC = (ops: unknown) => canRequest("PATCH", nodes, { name: "c", body: ops, contentType: "application/json-patch+json" }, nodeUser("c"));
  expect(await jsonPatchC([{ op: "replace", path: "/metadata/labels", value: { "node-restriction.kubernetes.io/pool": "gpu" } }])).toBe(false);
  expect(await jsonPatchC([{ op: "replace", path: "/metadata/labels", value: { zone: "y" } }])).toBe(true);
  expect(await patch("not json", "application/apply-patch+yaml")).toBe(false);
  const stored = storedNodes[0];
  const put = (o: unknown) => canRequest("PUT", nodes, { name: "a", body: o, contentType: "application/json" });
  expect(await put({ ...stored, metadata: { ...stored.metadata, labels: { ...stored.metadata.labels, zone: "y" } } })).toBe(true);
  expect(await put({ ...stored, metadata: { ...stored.metadata, labels: { zone: "x" } } })).toBe(false);
  expect(await put({ ...stored, spec: {} })).toBe(false);
  // Only its own Node, and never a delete.
  expect(await canRequest("DELETE", nodes, { name: "a" })).toBe(false);
  expect(await canRequest("PATCH", nodes, { name: "c", body: {}, contentType: merge })).toBe(false);
});

test("reads a kubelet needs, events, and nothing else", async () => {
  for (const resource of ["services", "endpoints", "nodes"]) expect(await can({ resource, verb: "list" })).toBe(true);
  // The proxy and the DNS read EndpointSlices; they never write them.
  for (const verb of ["list", "watch", "get"] as const) expect(await can({ group: "discovery.k8s.io", resource: "endpointslices", verb })).toBe(true);
  expect(await can({ group: "discovery.k8s.io", resource: "endpointslices", namespace: "default", verb: "create" })).toBe(false);
  // Namespaces (their labels) and NetworkPolicies for network policy enforcement; no writes.
  expect(await canRequest("GET", namespaces, {})).toBe(true);
  expect(await canRequest("DELETE", namespaces, { name: "default" })).toBe(false);
  for (const verb of ["list", "watch"] as const) expect(await can({ group: "networking.k8s.io", resource: "networkpolicies", verb })).toBe(true);
  expect(await can({ group: "networking.k8s.io", resource: "networkpolicies", namespace: "default", verb: "create" })).toBe(false);
  // Nothing in a kubelet reads ServiceAccounts; upstream's node rules grant none.
  expect(await canRequest("GET", serviceAccounts, { namespace: "default", name: "default" })).toBe(false);
  expect(await can({ resource: "events", namespace: "default", verb: "create" })).toBe(true);
  expect(await can({ resource: "services", namespace: "default", verb: "create" })).toBe(false);
  expect(await can({ group: "apps", resource: "deployments", namespace: "default", verb: "create" })).toBe(false);
});

test("403 messages read like kube-apiserver's", () => {
  expect(forbiddenMessage(node, { verb: "patch", group: "", resource: "nodes", subresource: "status", name: "b" }, "why")).toBe(
    'nodes "b" is forbidden: User "system:node:a" cannot patch resource "nodes/status" in API group "" at the cluster scope: why',
  );
  expect(forbiddenMessage(node, { verb: "create", group: "apps", resource: "deployments", namespace: "default" })).toBe(
    'deployments.apps is forbidden: User "system:node:a" cannot create resource "deployments" in API group "apps" in the namespace "default"',
  );
});

test("node credentials authenticate as system:node:<name> until their Secret changes", () => {
  const token = newNodeCredential("a");
  let secret: KubeObject | undefined = nodeCredentialSecret("a", token);
  const auth = createNodeAuthenticator((ns, name) => (ns === "kube-system" && name === "node-credential-a" ? (secret as never) : undefined));
  expect(auth(token)).toEqual({ user: "system:node:a", groups: ["system:nodes", "system:authenticated"] });
  expect(auth(token.slice(0, -1) + (token.endsWith("0") ? "1" : "0"))).toBeUndefined();
  expect(auth(token.replace("node.a.", "node.b."))).toBeUndefined();
  expect(auth("not-a-node-token")).toBeUndefined();
  secret = undefined; // revoked
  expect(auth(token)).toBeUndefined();
});

test("a node gets the claims of its pods, reads volumes, and deletes only local-path volumes on it", async () => {
  const withClaim = { metadata: { name: "app", namespace: "default" }, spec: { nodeName: "a", volumes: [{ name: "d", persistentVolumeClaim: { claimName: "data" } }], containers: [] } } as KubeObject;
  const volumes: KubeObject[] = [
    { metadata: { name: "mine", annotations: { "pv.kubernetes.io/provisioned-by": "rancher.io/local-path", "local.path.provisioner/selected-node": "a" } } },
    { metadata: { name: "theirs", annotations: { "pv.kubernetes.io/provisioned-by": "rancher.io/local-path", "local.path.provisioner/selected-node": "b" } } },
    { metadata: { name: "static" } },
  ];
  const auth = createAuthorizer({
    getPod: () => undefined,
    podsOnNode: (ns, n) => (ns === "default" && n === "a" ? [withClaim] : []),
    getVolume: (name) => volumes.find((v) => v.metadata.name === name),
  });
  const allowed = async (attrs: Partial<RequestAttributes>) => (await auth(node, { verb: "get", group: "", ...attrs } as RequestAttributes)).allowed;
  const claims = { resource: "persistentvolumeclaims", namespace: "default" };
  expect(await allowed({ ...claims, name: "data" })).toBe(true);
  expect(await allowed({ ...claims, name: "other" })).toBe(false);
  expect(await allowed({ ...claims, verb: "list" })).toBe(false);
  expect(await allowed({ ...claims, verb: "delete", name: "data" })).toBe(false);
  const pvs = { resource: "persistentvolumes" };
  expect(await allowed({ ...pvs, verb: "watch" })).toBe(true);
  expect(await allowed({ ...pvs, name: "static" })).toBe(true);
  expect(await allowed({ ...pvs, verb: "delete", name: "mine" })).toBe(true);
  expect(await allowed({ ...pvs, verb: "delete", name: "theirs" })).toBe(false);
  expect(await allowed({ ...pvs, verb: "delete", name: "static" })).toBe(false);
  expect(await allowed({ ...pvs, verb: "update", name: "mine" })).toBe(false);
});
