import { expect, test } from "bun:test";
import type { KubeObject } from "../../api/meta";
import { createAuthorizer, type RequestAttributes } from "./authorizer";
import { nodeUser } from "./node-credentials";

const secret = (namespace: string, name: string, type: string) => ({ metadata: { name, namespace }, type }) as KubeObject;
const secrets = [
  secret("web", "site-tls", "kubernetes.io/tls"),
  secret("web", "password", "Opaque"),
  secret("web", "other-tls", "kubernetes.io/tls"),
  secret("web", "nginx-tls", "kubernetes.io/tls"),
  secret("shop", "site-tls", "kubernetes.io/tls"),
];
const ingress = (namespace: string, className: string | undefined, secretNames: string[]) =>
  ({ metadata: { name: `i-${secretNames.join("-")}`, namespace }, spec: { ingressClassName: className, tls: secretNames.map((secretName) => ({ secretName })) } }) as KubeObject;
const ingresses = [
  ingress("web", "bramble", ["site-tls", "password", "missing"]),
  ingress("web", "nginx", ["nginx-tls"]),
  ingress("web", undefined, ["other-tls"]),
];
const classes = [
  { metadata: { name: "bramble" }, spec: { controller: "bramble.io/ingress" } },
  { metadata: { name: "nginx" }, spec: { controller: "k8s.io/ingress-nginx" } },
] as KubeObject[];

const authorize = createAuthorizer({
  getPod: () => undefined,
  podsOnNode: () => [],
  ingress: {
    getSecret: (ns, name) => secrets.find((s) => s.metadata.namespace === ns && s.metadata.name === name),
    ingressesIn: (ns) => ingresses.filter((i) => i.metadata.namespace === ns),
    getIngressClass: (name) => classes.find((c) => c.metadata.name === name),
  },
});
const can = async (a: Partial<RequestAttributes>) =>
  (await authorize(nodeUser("a"), { verb: "get", group: "", resource: "secrets", namespace: "web", ...a } as RequestAttributes)).allowed;
const pinned = (name: string) => ({ requirements: [{ field: "metadata.name", operator: "=", value: name }] }) as RequestAttributes["fieldSelector"];

test("a node reads a TLS Secret that an Ingress of bramble's class names, by name", async () => {
  expect(await can({ name: "site-tls" })).toBe(true);
  expect(await can({ verb: "watch", name: "site-tls", fieldSelector: pinned("site-tls") })).toBe(true);
});

test("a node reads no other Secret through an Ingress", async () => {
  expect(await can({ name: "password" })).toBe(false); // named by the Ingress, but not a TLS Secret
  expect(await can({ name: "missing" })).toBe(false); // not there yet: a pinned watch would see whatever comes
  expect(await can({ name: "nginx-tls" })).toBe(false); // another controller's Ingress
  expect(await can({ name: "other-tls" })).toBe(false); // an Ingress without a class
  expect(await can({ namespace: "shop", name: "site-tls" })).toBe(false); // same name, another namespace, no Ingress there
  expect(await can({ verb: "list" })).toBe(false); // never a list of them
  expect(await can({ verb: "update", name: "site-tls" })).toBe(false);
});

test("a node reads Ingresses and IngressClasses but does not write them", async () => {
  expect(await can({ verb: "watch", group: "networking.k8s.io", resource: "ingresses", namespace: undefined })).toBe(true);
  expect(await can({ verb: "list", group: "networking.k8s.io", resource: "ingressclasses", namespace: undefined })).toBe(true);
  expect(await can({ verb: "update", group: "networking.k8s.io", resource: "ingresses", name: "x" })).toBe(false);
  expect(await can({ verb: "patch", group: "networking.k8s.io", resource: "ingresses", subresource: "status", name: "x" })).toBe(false);
});
