import { expect, test } from "bun:test";
import { validateIngress, type Ingress } from "./ingress";
import { ingressClasses, type IngressClass } from "./ingressclass";

const svc = (name: string, port: { number?: number; name?: string } = { number: 80 }) => ({ service: { name, port } });
const ing = (spec: Ingress["spec"], annotations?: Record<string, string>): Ingress => ({ metadata: { name: "a", namespace: "default", annotations }, spec });
const errors = (i: Ingress, old?: Ingress) => validateIngress(i, old).map((e) => `${e.field}: ${e.message ?? e.type}`);
const fields = (i: Ingress) => validateIngress(i).map((e) => e.field);

test("a realistic Ingress is valid", () => {
  expect(
    errors(
      ing({
        ingressClassName: "bramble",
        tls: [{ hosts: ["shop.example.com", "*.apps.example.com"], secretName: "shop-tls" }],
        rules: [
          { host: "shop.example.com", http: { paths: [{ path: "/", pathType: "Prefix", backend: svc("shop") }, { path: "/api", pathType: "Exact", backend: svc("api", { name: "http" }) }] } },
          { host: "*.apps.example.com", http: { paths: [{ pathType: "ImplementationSpecific", backend: svc("apps") }] } },
        ],
      }),
    ),
  ).toEqual([]);
});

test("either rules or a default backend", () => {
  expect(fields(ing({}))).toEqual(["spec"]);
  expect(fields(ing({ defaultBackend: svc("x") }))).toEqual([]);
});

test("paths: a type is required and absolute, clean paths for Exact and Prefix", () => {
  const p = (path: string | undefined, pathType: string | undefined) => fields(ing({ rules: [{ http: { paths: [{ path, pathType, backend: svc("x") }] } }] }));
  expect(p("/", undefined)).toEqual(["spec.rules[0].http.paths[0].pathType"]);
  expect(p("/", "Regex")).toEqual(["spec.rules[0].http.paths[0].pathType"]);
  expect(p("foo", "Prefix")).toEqual(["spec.rules[0].http.paths[0].path"]);
  expect(p("/a//b", "Exact")).toEqual(["spec.rules[0].http.paths[0].path"]);
  expect(p("/a/..", "Prefix")).toEqual(["spec.rules[0].http.paths[0].path"]);
  expect(p("/a%2Fb", "Prefix")).toEqual(["spec.rules[0].http.paths[0].path"]);
  expect(p("/a//b", "ImplementationSpecific")).toEqual([]);
  expect(p("relative", "ImplementationSpecific")).toEqual(["spec.rules[0].http.paths[0].path"]);
  expect(fields(ing({ rules: [{ http: { paths: [] } }] }))).toEqual(["spec.rules[0].http.paths"]);
});

test("hosts: DNS names or one leading wildcard label, never an IP", () => {
  const h = (host: string) => errors(ing({ rules: [{ host, http: { paths: [{ path: "/", pathType: "Prefix", backend: svc("x") }] } }] }));
  expect(h("*.example.com")).toEqual([]);
  expect(h("a.*.example.com")[0]).toContain("a wildcard DNS-1123 subdomain must start with '*.'");
  expect(h("10.0.0.1")).toEqual(['spec.rules[0].host: Invalid value: "10.0.0.1": must be a DNS name, not an IP address']);
  expect(h("Shop.example.com")[0]).toContain("a lowercase RFC 1123 subdomain");
});

test("backends: a service name and exactly one of port name or number", () => {
  const b = (backend: object) => errors(ing({ defaultBackend: backend as never }));
  expect(b(svc("x", {}))).toEqual(["spec.defaultBackend.service.port: Required value: port name or number is required"]);
  expect(b(svc("x", { name: "http", number: 80 }))[0]).toContain("cannot set both port name & port number");
  expect(b(svc("x", { number: 70000 }))[0]).toContain("spec.defaultBackend.service.port.number");
  expect(b(svc("1bad")).length).toBe(1);
  expect(b({})[0]).toContain("one of `resource` or `service` must be specified");
  expect(b({ ...svc("x"), resource: { kind: "Bucket", name: "b" } })[0]).toContain("cannot set both resource and service backends");
});

test("the class annotation and field together are refused on create only", () => {
  const both = ing({ ingressClassName: "bramble", defaultBackend: svc("x") }, { "kubernetes.io/ingress.class": "nginx" });
  expect(errors(both)).toEqual(['annotations.kubernetes.io/ingress.class: Invalid value: "nginx": can not be set when the class field is also set']);
  expect(errors(both, both)).toEqual([]);
});

test("IngressClass: a domain-prefixed controller, immutable; parameters scoped", () => {
  const c = (spec: IngressClass["spec"]): IngressClass => ({ metadata: { name: "c" }, spec });
  const v = (x: IngressClass, old?: IngressClass) => ingressClasses.validate(x, old).map((e) => e.field);
  expect(v(c({ controller: "bramble.io/ingress" }))).toEqual([]);
  expect(v(c({}))).toEqual(["spec.controller"]);
  expect(v(c({ controller: "no-slash" }))).toEqual(["spec.controller"]);
  expect(v(c({ controller: "example.com/b" }), c({ controller: "example.com/a" }))).toEqual(["spec.controller"]);
  expect(v(c({ controller: "example.com/a", parameters: { kind: "K", name: "n", scope: "Namespace" } }))).toEqual(["spec.parameters.namespace"]);
  expect(v(c({ controller: "example.com/a", parameters: { kind: "K", name: "n", scope: "Cluster", namespace: "x" } }))).toEqual(["spec.parameters.namespace"]);
});
