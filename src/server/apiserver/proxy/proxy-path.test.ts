import { expect, test } from "bun:test";
import { nodes } from "../../../api/resources/core/node";
import { pods } from "../../../api/resources/core/pod";
import { canonicalPath, splitProxyPath } from "./proxy-path";

test("the path splits after the /proxy that follows the name; what follows is the backend's", () => {
  expect(splitProxyPath("/api/v1/namespaces/proxy/pods/proxy/proxy/proxy/x", pods, true)).toEqual({ prepend: "/api/v1/namespaces/proxy/pods/proxy/proxy", rest: "/proxy/x" });
  expect(splitProxyPath("/api/v1/namespaces/d/pods/web%3A80/proxy/", pods, true)).toEqual({ prepend: "/api/v1/namespaces/d/pods/web:80/proxy", rest: "/" });
  expect(splitProxyPath("/api/v1/nodes/n1/proxy", nodes, false)).toEqual({ prepend: "/api/v1/nodes/n1/proxy", rest: undefined });
  expect(splitProxyPath("/api/v1/namespaces/d//pods/web/proxy/", pods, true)).toBeUndefined();
});

test("decoded and encoded again as Go encodes a path", () => {
  expect(canonicalPath("/a%2Fb/s%20p/x%3Fy/%41:@$&+,;=/!*'()")).toBe("/a/b/s%20p/x%3Fy/A:@$&+,;=/%21%2A%27%28%29");
});

test("a broken escape is a 400, not an exception", () => {
  expect(() => canonicalPath("/a%zz")).toThrow("invalid escape sequence in the request path");
});
