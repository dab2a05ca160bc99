import { expect, test } from "bun:test";
import { rewriteHTML, rewriteURL } from "./rewrite";

const c = { pathPrepend: "/api/v1/namespaces/default/services/web:80/proxy", backendHost: "10.42.0.7:8080", requestHost: "127.0.0.1:8001" };

test("a Location on the backend itself gets the proxy path in front and loses the backend's address", () => {
  expect(rewriteURL("/login?next=%2F#top", c)).toBe("/api/v1/namespaces/default/services/web:80/proxy/login?next=%2F#top");
  expect(rewriteURL("http://10.42.0.7:8080/a/b/", c)).toBe("/api/v1/namespaces/default/services/web:80/proxy/a/b/");
  expect(rewriteURL("/", c)).toBe("/api/v1/namespaces/default/services/web:80/proxy/");
  expect(rewriteURL("/a/../b", c)).toBe("/api/v1/namespaces/default/services/web:80/proxy/b");
});

test("a Location on the host the client asked keeps that host; one already under the proxy path is left as it is", () => {
  expect(rewriteURL("http://127.0.0.1:8001/x", c)).toBe("http://127.0.0.1:8001/api/v1/namespaces/default/services/web:80/proxy/x");
  expect(rewriteURL("/api/v1/namespaces/default/services/web:80/proxy/y", c)).toBe("/api/v1/namespaces/default/services/web:80/proxy/y");
});

test("other hosts and relative links are not touched", () => {
  expect(rewriteURL("https://example.com/x", c)).toBe("https://example.com/x");
  expect(rewriteURL("login", c)).toBe("login");
  expect(rewriteURL("http://10.42.0.7:8080", c)).toBe("http://10.42.0.7:8080");
  expect(rewriteURL("?page=2", c)).toBe("?page=2");
});

test("HTML links are rewritten as upstream's transport rewrites them, also in a gzip body", async () => {
  const html = '<html><body><a href="/docs/">d</a> <img src="http://10.42.0.7:8080/i.png"> <a href="https://example.com/">x</a> <a href="rel">r</a></body></html>';
  const expected = '<html><body><a href="/api/v1/namespaces/default/services/web:80/proxy/docs/">d</a> <img src="/api/v1/namespaces/default/services/web:80/proxy/i.png"> <a href="https://example.com/">x</a> <a href="rel">r</a></body></html>';
  const plain = rewriteHTML(new Response(html, { headers: { "content-type": "text/html", "content-length": String(html.length) } }), c);
  expect(await plain.text()).toBe(expected);
  expect(plain.headers.get("content-length")).not.toBe(String(html.length));
  const gz = rewriteHTML(new Response(Bun.gzipSync(html), { headers: { "content-type": "text/html", "content-encoding": "gzip" } }), c);
  expect(gz.headers.get("content-encoding")).toBeNull();
  expect(await gz.text()).toBe(expected);
  const br = new Response("opaque", { headers: { "content-type": "text/html", "content-encoding": "br" } });
  expect(rewriteHTML(br, c)).toBe(br);
});
