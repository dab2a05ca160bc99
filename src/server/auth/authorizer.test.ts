import { expect, test } from "bun:test";
import type { KubeObject } from "../../api/meta";
import { ADMIN } from "./authenticator";
import { createAuthorizer, forbiddenMessage, type RequestAttributes } from "./authorizer";
import { createNodeAuthenticator, newNodeCredential, nodeCredentialSecret, nodeUser } from "./node-credentials";

const pods: KubeObject[] = [
  { metadata: { name: "web", namespace: "default" }, spec: { nodeName: "a", volumes: [{ name: "v", secret: { secretName: "tls" } }], containers: [{ name: "c", envFrom: [{ configMapRef: { name: "env" } }] }] } } as KubeObject,
  { metadata: { name: "db", namespace: "default" }, spec: { nodeName: "b", volumes: [{ name: "v", secret: { secretName: "db-password" } }], containers: [] } } as KubeObject,
];
const authorize = createAuthorizer({
  getPod: (ns, name) => pods.find((p) => p.metadata.namespace === ns && p.metadata.name === name),
  podsOnNode: (ns, node) => pods.filter((p) => p.metadata.namespace === ns && (p as { spec?: { nodeName?: string } }).spec?.nodeName === node),
});
const node = nodeUser("a");
const can = async (attrs: Partial<RequestAttributes>, user = node) =>
  (await authorize(user, { verb: "get", group: "", resource: "nodes", ...attrs } as RequestAttributes)).allowed;

test("admins may do anything; unknown users nothing", async () => {
  expect(await can({ verb: "delete", group: "apps", resource: "deployments", namespace: "x", name: "y" }, ADMIN)).toBe(true);
  expect(await can({ verb: "get", resource: "nodes" }, { user: "bob", groups: ["system:authenticated"] })).toBe(false);
});

test("a node writes only its own Node and Lease", async () => {
  expect(await can({ verb: "patch", name: "a" })).toBe(true);
  expect(await can({ verb: "update", name: "a", subresource: "status" })).toBe(true);
  expect(await can({ verb: "patch", name: "b" })).toBe(false);
  expect(await can({ verb: "create", bodyName: async () => "a" })).toBe(true);
  expect(await can({ verb: "create", bodyName: async () => "b" })).toBe(false);
  expect(await can({ verb: "list" })).toBe(true);
  expect(await can({ verb: "deletecollection" })).toBe(false);
  const lease = { group: "coordination.k8s.io", resource: "leases", namespace: "kube-node-lease" };
  expect(await can({ ...lease, verb: "update", name: "a" })).toBe(true);
  expect(await can({ ...lease, verb: "update", name: "b" })).toBe(false);
  expect(await can({ ...lease, verb: "create", bodyName: async () => "a" })).toBe(true);
  expect(await can({ ...lease, verb: "get", name: "a", namespace: "default" })).toBe(false);
});

test("pods: only those bound to the node, status and delete; lists filtered to the node", async () => {
  const pod = { resource: "pods", namespace: "default" };
  expect(await can({ ...pod, verb: "patch", name: "web", subresource: "status" })).toBe(true);
  expect(await can({ ...pod, verb: "delete", name: "web" })).toBe(true);
  expect(await can({ ...pod, verb: "patch", name: "web" })).toBe(false); // spec is not the node's
  expect(await can({ ...pod, verb: "patch", name: "db", subresource: "status" })).toBe(false);
  expect(await can({ ...pod, verb: "create" })).toBe(false);
  expect(await can({ resource: "pods", verb: "watch", fieldSelector: "spec.nodeName=a" })).toBe(true);
  expect(await can({ resource: "pods", verb: "list" })).toBe(false);
  expect(await can({ resource: "pods", verb: "list", fieldSelector: "spec.nodeName=b" })).toBe(false);
});

test("secrets and configmaps: only those its pods refer to, by name", async () => {
  expect(await can({ resource: "secrets", namespace: "default", verb: "get", name: "tls" })).toBe(true);
  expect(await can({ resource: "secrets", namespace: "default", verb: "get", name: "db-password" })).toBe(false);
  expect(await can({ resource: "secrets", namespace: "default", verb: "list" })).toBe(false);
  expect(await can({ resource: "secrets", namespace: "default", verb: "watch", fieldSelector: "metadata.name=tls" })).toBe(true);
  expect(await can({ resource: "configmaps", namespace: "default", verb: "get", name: "env" })).toBe(true);
  expect(await can({ resource: "secrets", namespace: "default", verb: "update", name: "tls" })).toBe(false);
  // Every node reads the cluster's networking settings, and no other kube-system ConfigMap.
  expect(await can({ resource: "configmaps", namespace: "kube-system", verb: "get", name: "bramble-cluster-network" })).toBe(true);
  expect(await can({ resource: "configmaps", namespace: "kube-system", verb: "get", name: "other" })).toBe(false);
  expect(await can({ resource: "configmaps", namespace: "kube-system", verb: "update", name: "bramble-cluster-network" })).toBe(false);
});

test("reads a kubelet needs, events, and nothing else", async () => {
  for (const resource of ["services", "endpoints", "namespaces", "serviceaccounts"]) expect(await can({ resource, verb: "list" })).toBe(true);
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
