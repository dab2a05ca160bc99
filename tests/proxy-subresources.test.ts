// pods/proxy, services/proxy and nodes/proxy for real: a `bramble server` process whose embedded
// agent runs a busybox httpd pod on the Docker engine (pods on Docker's bridge, which the server
// on this host reaches as kube-apiserver reaches pod IPs), the installed kubectl's `proxy` and
// `get --raw`, and the Statuses for everything that cannot be reached. Then the same on a server
// with the product's pod network (a network namespace of its own), where pods have cluster IPs.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { dockerForTests } from "../src/agent/runtime/docker/testing";
import { formatToken, generateToken, tokenSecret } from "../src/server/auth/bootstrap-token";
import { JOIN_PATH } from "../src/server/join/paths";
import { eventually as poll } from "./helpers/eventually";
import { netnsServerSkipReason, startNetnsServer, type NetnsServer } from "./helpers/netns-server";
import { removePodsOf, servingContainer, startServerWithNode } from "./helpers/pods";
import { parseJson, type StreamingProcess, type TestServer } from "./helpers/server";

const docker = await dockerForTests("proxy subresource tests");
const PYTHON = "/usr/bin/python3";
const pythonClient = Bun.spawnSync([PYTHON, "-c", "import kubernetes"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
// The Python client escapes "/" and ":" in its path parameters (web%3A80, cgi-bin%2Fecho).
const PYTHON_SCRIPT = `
import sys
from kubernetes import client, config
config.load_kube_config(config_file=sys.argv[1])
v = client.CoreV1Api()
print("svc=" + v.connect_get_namespaced_service_proxy_with_path("web:80", sys.argv[2], "cgi-bin/echo"), end="")
print("pod=" + v.connect_get_namespaced_pod_proxy_with_path("web:8080", sys.argv[2], "docs/a.txt"), end="")
print("node=" + v.connect_get_node_proxy_with_path(sys.argv[3], "healthz"))
`;
setDefaultTimeout(90_000);
const NS = `px-${Date.now().toString(36)}`;
let s: TestServer;
let proxy: StreamingProcess | undefined;
let proxyBase: string;
let podIp: string;
let nodeName: string;

const eventually = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 60_000) => poll(what, f, { timeoutMs, intervalMs: 250, context: () => s?.log.slice(-5000) ?? "" });
const kc = (...args: string[]) => s.kubectl("-n", NS, ...args);
const create = async (obj: unknown) => {
  const r = await s.kubectlWith({ stdin: JSON.stringify(obj) }, "-n", NS, "create", "-f", "-");
  expect(r.stderr).toBe("");
};

// busybox httpd with a page, a folder (a request without the trailing slash is redirected), and
// a CGI script that echoes the method, the query and the body, or streams until it is stopped.
const CGI_ECHO = '#!/bin/sh\\necho "Content-Type: text/plain"\\necho\\necho "method=$REQUEST_METHOD query=$QUERY_STRING"\\nhead -c "${CONTENT_LENGTH:-0}"\\n';
const CGI_STREAM = '#!/bin/sh\\necho "Content-Type: text/plain"\\necho\\nwhile true; do echo tick; sleep 0.2; done\\n';
const HTTPD = [
  "mkdir -p /www/docs /www/cgi-bin",
  "echo hello-index > /www/index.html",
  "echo docs-index > /www/docs/index.html",
  "echo file-a > /www/docs/a.txt",
  `echo '<a href="/docs/a.txt">a</a><img src="logo.png">' > /www/links.html`,
  `printf '${CGI_ECHO}' > /www/cgi-bin/echo`,
  `printf '${CGI_STREAM}' > /www/cgi-bin/stream`,
  "busybox chmod +x /www/cgi-bin/echo /www/cgi-bin/stream",
  "httpd -p 8080 -h /www",
].join("; ");

describe.skipIf(!docker)("the proxy subresources through kubectl", () => {
  beforeAll(async () => {
    s = await startServerWithNode(docker!);
    expect((await s.kubectl("create", "namespace", NS)).code).toBe(0);
    await create({ apiVersion: "v1", kind: "Pod", metadata: { name: "web", labels: { app: "web" } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "web", ...servingContainer(HTTPD), ports: [{ name: "http", containerPort: 8080 }] }] } });
    await create({ apiVersion: "v1", kind: "Service", metadata: { name: "web" }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] } });
    await create({ apiVersion: "v1", kind: "Service", metadata: { name: "nobody" }, spec: { selector: { app: "none" }, ports: [{ port: 80 }] } });
    // Never scheduled: no node has this label, so it never gets an IP.
    await create({ apiVersion: "v1", kind: "Pod", metadata: { name: "pending" }, spec: { nodeSelector: { nowhere: "true" }, containers: [{ name: "c", ...servingContainer("true") }] } });
    const pod = await eventually("pod web running with an IP", async () => {
      const p = parseJson(await kc("get", "pod", "web", "-o", "json"));
      return p.status?.phase === "Running" && p.status.podIP ? p : undefined;
    });
    podIp = pod.status.podIP;
    nodeName = pod.spec.nodeName;
    await eventually("the Service's endpoints", async () => parseJson(await kc("get", "endpoints", "web", "-o", "json")).subsets?.[0]?.addresses?.length > 0);
    await eventually("httpd answering in the pod", async () => (await kc("exec", "web", "--", "sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 127.0.0.1 8080")).stdout.includes("hello-index"));
    proxy = s.spawnKubectl("proxy", "--port=0");
    const out = await proxy.waitFor((o) => /Starting to serve on 127\.0\.0\.1:\d+/.test(o), 30_000);
    proxyBase = `http://127.0.0.1:${/Starting to serve on 127\.0\.0\.1:(\d+)/.exec(out)![1]}`;
  }, 180_000);

  afterAll(async () => {
    await proxy?.stop();
    await s?.cleanup();
    if (docker) await removePodsOf(docker, NS);
  }, 60_000);

  const viaProxy = (path: string, init: RequestInit = {}) => fetch(`${proxyBase}${path}`, { redirect: "manual", ...init });
  const svc = (id: string) => `/api/v1/namespaces/${NS}/services/${id}/proxy`;
  const pod = (id: string) => `/api/v1/namespaces/${NS}/pods/${id}/proxy`;

  test("kubectl proxy reaches the Service by name:port and by port name, and the pod by name and port, path and query kept", async () => {
    for (const path of [`${svc("web:80")}/cgi-bin/echo?a=1&b=two`, `${svc("http:web:http")}/cgi-bin/echo?a=1&b=two`, `${pod("web:8080")}/cgi-bin/echo?a=1&b=two`, `${pod("web")}/cgi-bin/echo?a=1&b=two`]) {
      const res = await viaProxy(path);
      expect({ path, status: res.status, body: await res.text() }).toEqual({ path, status: 200, body: "method=GET query=a=1&b=two\n" });
    }
    const file = await viaProxy(`${svc("web:80")}/docs/a.txt`);
    expect(await file.text()).toBe("file-a\n");
  });

  test.skipIf(!pythonClient)("the Python client's proxy calls (their escaped paths) reach the Service, the pod and the node", async () => {
    const r = Bun.spawnSync([PYTHON, "-c", PYTHON_SCRIPT, s.kubeconfig, NS, nodeName], { stdout: "pipe", stderr: "pipe", timeout: 60_000 });
    expect({ code: r.exitCode, err: r.stderr.toString() }).toEqual({ code: 0, err: "" });
    expect(r.stdout.toString()).toBe("svc=method=GET query=\npod=file-a\nnode=ok\n");
  });

  test("a POST body reaches the pod and its answer comes back", async () => {
    const body = "x=1&y=" + "z".repeat(100_000);
    const res = await viaProxy(`${svc("web:80")}/cgi-bin/echo?posted`, { method: "POST", body, headers: { "content-type": "application/x-www-form-urlencoded" } });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe(`method=POST query=posted\n${body}`);
  });

  test("the pod's redirect (a folder without its slash) comes back under the proxy path; the bare …/proxy goes to …/proxy/", async () => {
    const res = await viaProxy(`${svc("web:80")}/docs`);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe(`${svc("web:80")}/docs/`);
    expect(await (await viaProxy(res.headers.get("location")!)).text()).toBe("docs-index\n");
    // Links on a page to the pod's own paths are rewritten the same way; relative ones are left.
    const page = await viaProxy(`${svc("web:80")}/links.html`);
    expect(await page.text()).toBe(`<a href="${svc("web:80")}/docs/a.txt">a</a><img src="logo.png">\n`);
    const bare = await viaProxy(pod("web:8080"));
    expect(bare.status).toBe(301);
    expect(bare.headers.get("location")).toBe(`${pod("web:8080")}/`);
  });

  test("kubectl get --raw: the node's healthz and a container's log through nodes/proxy, a page through services/proxy", async () => {
    const health = await s.kubectl("get", "--raw", `/api/v1/nodes/${nodeName}/proxy/healthz`);
    expect(health).toMatchObject({ code: 0, stdout: "ok" });
    await kc("exec", "web", "--", "sh", "-c", "echo from-the-log > /proc/1/fd/1");
    const log = await eventually("the container's log through the agent", async () => {
      const r = await s.kubectl("get", "--raw", `/api/v1/nodes/${nodeName}/proxy/containerLogs/${NS}/web/web`);
      return r.code === 0 && r.stdout.includes("from-the-log") ? r : undefined;
    });
    expect(log.stdout).toContain("from-the-log");
    const varLog = await s.kubectl("get", "--raw", `/api/v1/nodes/${nodeName}/proxy/logs/`);
    expect(varLog.code).toBe(0);
    expect(varLog.stdout).toStartWith("<pre>\n");
    expect(varLog.stdout).toEndWith("</pre>\n");
    expect((await s.kubectl("get", "--raw", `${svc("web:80")}/`)).stdout).toBe("hello-index\n");
  });

  test("what cannot be reached is a clear Status: no endpoints, unknown port, closed port, no IP, no pod", async () => {
    const raw = (path: string) => s.kubectl("get", "--raw", path);
    expect((await raw(`${svc("nobody:80")}/`)).stderr).toContain('Error from server (ServiceUnavailable): no endpoints available for service "nobody"');
    expect((await raw(`${svc("web:81")}/`)).stderr).toContain('Error from server (ServiceUnavailable): no service port 81 found for service "web"');
    expect((await raw(`${pod("web:9999")}/`)).stderr).toContain(`Error from server (ServiceUnavailable): error trying to reach service: dial tcp ${podIp}:9999: connect: connection refused`);
    expect((await raw(`${pod("pending:80")}/`)).stderr).toContain("Error from server (BadRequest): address not allowed");
    expect((await raw(`${pod("ghost:80")}/`)).stderr).toContain('Error from server (NotFound): pods "ghost" not found');
    expect((await raw(`${svc("a:b:c:d")}/`)).stderr).toContain('Error from server (BadRequest): invalid service request "a:b:c:d"');
  });

  test("a client that goes away mid-stream leaves no connection from the server to the pod", async () => {
    const established = async () => (await Bun.$`ss -Htn state established dst ${podIp}:8080`.nothrow().text()).trim();
    expect(await established()).toBe("");
    const ctl = new AbortController();
    const res = await s.fetch(`${svc("web:80")}/cgi-bin/stream`, { signal: ctl.signal });
    const reader = res.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toContain("tick");
    expect(await established()).not.toBe("");
    ctl.abort();
    await eventually("no connection to the pod", async () => (await established()) === "", 30_000);
  });

  test("only admins may proxy: a node's credential and a service account's token get 403", async () => {
    const sa = await kc("create", "token", "default");
    expect(sa.code).toBe(0);
    const asSa = await s.kubectl("--token", sa.stdout.trim(), "get", "--raw", `${svc("web:80")}/`);
    expect(asSa.stderr).toContain(`Error from server (Forbidden): services "web:80" is forbidden: User "system:serviceaccount:${NS}:default" cannot get resource "services/proxy" in API group "" in the namespace "${NS}"`);

    const bootstrap = generateToken();
    expect((await s.kubectlWith({ stdin: JSON.stringify(tokenSecret(bootstrap, { ttlSeconds: 600 })) }, "create", "-f", "-")).code).toBe(0);
    const joined = await fetch(s.url + JOIN_PATH, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token: formatToken(bootstrap), nodeName: "px-other" }), tls: { ca: s.ca() } });
    expect(joined.status).toBe(200);
    const nodeToken = ((await joined.json()) as { token: string }).token;
    for (const path of [`/api/v1/nodes/${nodeName}/proxy/healthz`, `${pod("web:8080")}/`]) {
      const r = await s.kubectl("--token", nodeToken, "get", "--raw", path);
      expect({ path, err: r.stderr }).toMatchObject({ path, err: expect.stringContaining('Error from server (Forbidden)') });
      expect(r.stderr).toContain('User "system:node:px-other" cannot get resource');
    }
  });
});

describe.skipIf(!!netnsServerSkipReason)("the proxy subresources on a server with its pod network", () => {
  let node: NetnsServer;
  const raw = (path: string) => node.kubectl("get", "--raw", path);

  beforeAll(async () => {
    node = await startNetnsServer("proxy");
    const manifests = [
      { apiVersion: "v1", kind: "Pod", metadata: { name: "web", namespace: "default", labels: { app: "web" } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "web", ...servingContainer(HTTPD), ports: [{ name: "http", containerPort: 8080 }] }] } },
      { apiVersion: "v1", kind: "Service", metadata: { name: "web", namespace: "default" }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] } },
    ];
    for (const m of manifests) expect((await node.kubectlWith(JSON.stringify(m), "create", "-f", "-")).stderr).toBe("");
    const deadline = Date.now() + 90_000;
    for (;;) {
      const r = await raw("/api/v1/namespaces/default/services/web:80/proxy/docs/a.txt");
      if (r.code === 0 && r.stdout === "file-a\n") break;
      if (Date.now() > deadline) throw new Error(`the Service never answered through the proxy: ${r.stderr}\n${node.log()}`);
      await Bun.sleep(500);
    }
  }, 240_000);

  afterAll(async () => {
    await node?.destroy();
  }, 120_000);

  test("the API server reaches the pod at its pod-network address, by Service and by pod, and the node's agent", async () => {
    const pod = JSON.parse((await node.kubectl("get", "pod", "web", "-o", "json")).stdout);
    expect(pod.status.podIP).toStartWith("10.42.");
    // This kubectl runs with --request-timeout, which it sends as ?timeout=: the whole query goes on, as upstream's does.
    expect(await raw("/api/v1/namespaces/default/services/web:80/proxy/cgi-bin/echo?from=svc")).toMatchObject({ code: 0, stdout: "method=GET query=from=svc&timeout=20s\n" });
    expect(await raw("/api/v1/namespaces/default/pods/http:web:8080/proxy/cgi-bin/echo?from=pod")).toMatchObject({ code: 0, stdout: "method=GET query=from=pod&timeout=20s\n" });
    // kubectl follows the rewritten redirect back through the API server.
    expect(await raw("/api/v1/namespaces/default/pods/web/proxy/docs")).toMatchObject({ code: 0, stdout: "docs-index\n" });
    expect(await raw(`/api/v1/nodes/${node.nodeName}/proxy/healthz`)).toMatchObject({ code: 0, stdout: "ok" });
  });
});
