import { describe, expect, test } from "bun:test";
import { requestLabels } from "./request-metrics";

const SERVED = new Set(["/v1/pods", "/v1/namespaces", "/v1/nodes", "/v1/", "apps/v1/deployments", "apps/v1/"]);
const served = (g: string, v: string, p: string) => SERVED.has(`${g}/${v}/${p}`);
const labels = (method: string, path: string, search = "", contentType: string | null = null) => requestLabels(method, path, search, contentType, served);

describe("apiserver request labels", () => {
  test("verbs as upstream reports them: LIST, GET, WATCH, POST, PUT, PATCH, APPLY, DELETE, CONNECT", () => {
    expect(labels("GET", "/api/v1/namespaces/default/pods")).toEqual(["LIST", "", "", "v1", "pods", "", "namespace", "apiserver"]);
    expect(labels("GET", "/api/v1/namespaces/default/pods/web")).toEqual(["GET", "", "", "v1", "pods", "", "resource", "apiserver"]);
    expect(labels("GET", "/api/v1/pods", "?watch=1&resourceVersion=5")[0]).toBe("WATCH");
    expect(labels("GET", "/api/v1/pods", "?watch=false")[0]).toBe("LIST");
    expect(labels("POST", "/apis/apps/v1/namespaces/x/deployments")).toEqual(["POST", "", "apps", "v1", "deployments", "", "namespace", "apiserver"]);
    expect(labels("PATCH", "/apis/apps/v1/namespaces/x/deployments/d", "", "application/apply-patch+yaml")[0]).toBe("APPLY");
    expect(labels("PATCH", "/apis/apps/v1/namespaces/x/deployments/d/scale", "", "application/merge-patch+json")).toEqual(["PATCH", "", "apps", "v1", "deployments", "scale", "resource", "apiserver"]);
    expect(labels("POST", "/api/v1/namespaces/x/pods/p/exec")).toEqual(["CONNECT", "", "", "v1", "pods", "exec", "resource", "apiserver"]);
    expect(labels("DELETE", "/api/v1/namespaces/x/pods")[0]).toBe("DELETE");
    expect(labels("POST", "/api/v1/namespaces/x/pods", "?dryRun=All")[1]).toBe("All");
  });

  test("scope: cluster-scoped collections and namespaces themselves", () => {
    expect(labels("GET", "/api/v1/nodes")).toEqual(["LIST", "", "", "v1", "nodes", "", "cluster", "apiserver"]);
    expect(labels("GET", "/api/v1/namespaces")).toEqual(["LIST", "", "", "v1", "namespaces", "", "cluster", "apiserver"]);
    expect(labels("GET", "/api/v1/namespaces/kube-system")).toEqual(["GET", "", "", "v1", "namespaces", "", "resource", "apiserver"]);
    expect(labels("PUT", "/api/v1/namespaces/kube-system/finalize")).toEqual(["PUT", "", "", "v1", "namespaces", "finalize", "resource", "apiserver"]);
  });

  test("what the server does not serve is reported without its names (no unbounded series)", () => {
    expect(labels("GET", "/api/v1/namespaces/x/widgets")).toEqual(["GET", "", "", "v1", "", "", "", "apiserver"]);
    expect(labels("GET", "/apis/made.up/v9/things/x")).toEqual(["GET", "", "", "", "", "", "", "apiserver"]);
    expect(labels("GET", "/api/v1/namespaces/x/pods/p/whatever")[5]).toBe("");
  });

  test("non-resource paths: the method, nothing else", () => {
    expect(labels("GET", "/metrics")).toEqual(["GET", "", "", "", "", "", "", "apiserver"]);
    expect(labels("GET", "/apis")).toEqual(["GET", "", "", "", "", "", "", "apiserver"]);
    expect(labels("OPTIONS", "/version")[0]).toBe("other");
  });
});
