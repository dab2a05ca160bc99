// Who may use the proxy subresources, and what is judged: the HTTP verb mapped as upstream's
// RequestInfo maps it, on pods/proxy, services/proxy and nodes/proxy, with the id as the name.
// Without an RBAC grant only admins proxy: a node's or a service account's request is refused,
// even for a pod on that node or in that account's namespace.
import { expect, test } from "bun:test";
import type { KubeObject } from "../../api/meta";
import { nodes } from "../../api/resources/core/node";
import { pods } from "../../api/resources/core/pod";
import { services } from "../../api/resources/core/service";
import { parseResourcePath } from "../apiserver/request";
import { ADMIN } from "./authenticator";
import { createAuthorizer, forbiddenMessage } from "./authorizer";
import { nodeUser } from "./node-credentials";
import { requestAttributes } from "./request-attributes";
import { serviceAccountUser } from "./serviceaccount/claims";

const defs = [pods, services, nodes];
const lookup = (g: string, v: string, plural: string) => defs.find((d) => d.group === g && d.version === v && d.plural === plural);
const attrs = (method: string, path: string) => {
  const url = new URL(`https://h${path}`);
  return requestAttributes(new Request(url.toString(), { method, body: method === "GET" || method === "HEAD" ? undefined : "x" }), url, parseResourcePath(url.pathname, lookup));
};

test("the verb is the HTTP method's, the subresource proxy, the name the whole id; the backend's path and query change nothing", () => {
  const path = "/api/v1/namespaces/d/services/https:web:443/proxy/a/b?watch=true&labelSelector=x";
  expect(attrs("GET", path)).toMatchObject({ verb: "get", resource: "services", subresource: "proxy", namespace: "d", name: "https:web:443" });
  expect(attrs("HEAD", path).verb).toBe("get");
  expect(attrs("POST", path).verb).toBe("create");
  expect(attrs("PUT", path).verb).toBe("update");
  expect(attrs("PATCH", path).verb).toBe("patch");
  expect(attrs("DELETE", path).verb).toBe("delete");
  expect(attrs("GET", "/api/v1/nodes/n1/proxy/healthz")).toMatchObject({ verb: "get", resource: "nodes", subresource: "proxy", name: "n1", namespace: undefined });
  expect(attrs("GET", "/api/v1/namespaces/d/pods/web:8080/proxy")).toMatchObject({ verb: "get", resource: "pods", subresource: "proxy", name: "web:8080" });
});

test("only admins may proxy: a node may not, even to a pod on it, nor a service account in its namespace", async () => {
  const pod = { metadata: { name: "web", namespace: "d" }, spec: { nodeName: "n1" } } as KubeObject;
  const authorize = createAuthorizer({ getPod: () => pod, getNode: () => undefined, podsOnNode: () => [pod] });
  for (const path of ["/api/v1/namespaces/d/pods/web/proxy/", "/api/v1/namespaces/d/services/web:80/proxy/", "/api/v1/nodes/n1/proxy/healthz"]) {
    for (const method of ["GET", "POST", "DELETE"]) {
      const a = attrs(method, path);
      expect(await authorize(ADMIN, a)).toEqual({ allowed: true });
      expect({ path, method, ...(await authorize(nodeUser("n1"), a)) }).toMatchObject({ path, method, allowed: false });
      expect({ path, method, ...(await authorize(serviceAccountUser("d", "default"), a)) }).toMatchObject({ path, method, allowed: false });
    }
  }
  expect(forbiddenMessage(nodeUser("n1"), attrs("GET", "/api/v1/namespaces/d/pods/web:80/proxy/x"))).toBe(
    'pods "web:80" is forbidden: User "system:node:n1" cannot get resource "pods/proxy" in API group "" in the namespace "d"',
  );
});
