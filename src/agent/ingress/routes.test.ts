import { expect, test } from "bun:test";
import type { Ingress } from "../../api/resources/networking/ingress";
import { buildRoutes, candidateHosts, hostOf, route } from "./routes";

const backend = (service: string, port: number | string = 80) => ({ service: { name: service, port: typeof port === "number" ? { number: port } : { name: port } } });
const ing = (name: string, created: string, spec: Ingress["spec"]): Ingress => ({ metadata: { name, namespace: "default", creationTimestamp: created }, spec });
const path = (p: string, pathType: string, service: string) => ({ path: p, pathType, backend: backend(service) });

const table = buildRoutes([
  ing("b", "2026-01-02T00:00:00Z", {
    defaultBackend: backend("late-default"),
    rules: [{ host: "shop.example.com", http: { paths: [path("/", "Prefix", "shop-dup")] } }],
  }),
  ing("a", "2026-01-01T00:00:00Z", {
    defaultBackend: backend("default"),
    rules: [
      {
        host: "shop.example.com",
        http: { paths: [path("/", "Prefix", "shop"), path("/api", "Prefix", "api"), path("/api/v1/", "Prefix", "api-v1"), path("/api", "Exact", "api-exact"), path("/cart", "ImplementationSpecific", "cart")] },
      },
      { host: "*.example.com", http: { paths: [path("/", "Prefix", "wild")] } },
      { http: { paths: [path("/", "Prefix", "any-host")] } },
      { host: "exact-only.example.com", http: { paths: [path("/only", "Exact", "only")] } },
    ],
  }),
]);
const svc = (host: string, p: string) => route(table, host, p)?.service;

test("paths: longest match wins, Exact beats Prefix at equal length, Prefix by elements", () => {
  expect(svc("shop.example.com", "/")).toBe("shop");
  expect(svc("shop.example.com", "/api")).toBe("api-exact");
  expect(svc("shop.example.com", "/api/")).toBe("api");
  expect(svc("shop.example.com", "/api/users")).toBe("api");
  expect(svc("shop.example.com", "/apix")).toBe("shop"); // not an element match of /api
  expect(svc("shop.example.com", "/api/v1")).toBe("api-v1"); // a trailing slash in the rule is ignored
  expect(svc("shop.example.com", "/api/v1/x")).toBe("api-v1");
  expect(svc("shop.example.com", "/cart/items")).toBe("cart"); // ImplementationSpecific as Prefix
});

test("between Ingresses the older one's identical path wins; the oldest default backend answers", () => {
  expect(svc("shop.example.com", "/anything")).toBe("shop");
  expect(svc("nowhere.test", "/")).toBe("any-host");
});

test("hosts: exact before a one-label wildcard before any host; port and case ignored", () => {
  expect(svc("SHOP.example.com:8080", "/")).toBe("shop");
  expect(svc("blog.example.com", "/")).toBe("wild");
  expect(svc("a.blog.example.com", "/")).toBe("any-host"); // a wildcard covers one label only
  expect(svc("example.com", "/")).toBe("any-host");
  expect(hostOf("[::1]:80")).toBe("[::1]");
  expect(candidateHosts("a.b.c")).toEqual(["a.b.c", "*.b.c", ""]);
});

test("a host whose rules match no path gets the default backend, not another host's rules", () => {
  expect(svc("exact-only.example.com", "/only")).toBe("only");
  expect(svc("exact-only.example.com", "/only/x")).toBe("default");
});

test("no rule and no default backend: nothing answers", () => {
  const t = buildRoutes([ing("x", "2026-01-01T00:00:00Z", { rules: [{ host: "a.test", http: { paths: [path("/", "Prefix", "a")] } }] })]);
  expect(route(t, "b.test", "/")).toBeUndefined();
  expect(route(t, "a.test", "/")?.port).toBe(80);
});
