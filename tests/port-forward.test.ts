// `kubectl port-forward` for real: a `bramble server` process whose embedded agent runs pods on
// the Docker engine, and the installed kubectl 1.32 (SPDY tunnelled in a WebSocket). The pod's
// servers listen on 127.0.0.1 only, so only a forward made inside the pod's network namespace
// reaches them. Needs dockerd (CI starts one; locally this skips without it).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { connect } from "node:net";
import { SERVING_CERT_ANNOTATION } from "../src/api/kubelet-api";
import { PortForwardTestClient } from "../src/agent/server/portforward/testing-client";
import { dockerForTests } from "../src/agent/runtime/docker/testing";
import { LABELS } from "../src/agent/runtime/runtime";
import { eventually as poll } from "./helpers/eventually";
import { removePodsOf, servingContainer as serve, shContainer, startServerWithNode } from "./helpers/pods";
import { rawRequest } from "./helpers/raw-https";
import { freePort, parseJson, type StreamingProcess, type TestServer } from "./helpers/server";

const docker = await dockerForTests("port-forward tests");
const PYTHON = "/usr/bin/python3";
/** Why Debian's python3-kubernetes cannot run here (CI installs it, so there a missing one fails). */
const noPythonClient = (() => {
  const r = Bun.spawnSync([PYTHON, "-c", "import kubernetes.stream"], { stdout: "ignore", stderr: "pipe" });
  if (r.exitCode === 0) return undefined;
  const why = `${PYTHON} cannot import kubernetes.stream`;
  if (process.env.CI) throw new Error(`${why}; CI must install python3-kubernetes`);
  console.warn(`SKIPPED the Python client port-forward test: ${why}`);
  return why;
})();

// The Python client's port-forward (channel protocol, ports in the URL): both requests are sent
// before either answer is read, since a port's stream ends only when the whole session does.
const PYTHON_PORT_FORWARD = `
import json, sys
from kubernetes import client, config
from kubernetes.stream import portforward
config.load_kube_config(sys.argv[1])
pf = portforward(client.CoreV1Api().connect_get_namespaced_pod_portforward, "web", sys.argv[2], ports="8080,9090,5555")
socks = {p: pf.socket(p) for p in (8080, 9090)}
for s in socks.values():
    s.setblocking(True)
    s.sendall(b"GET / HTTP/1.0\\r\\n\\r\\n")
out = {}
for p, s in socks.items():
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    out[str(p)] = data.decode().split("\\r\\n\\r\\n", 1)[-1]
out["error5555"] = pf.error(5555)
out["error8080"] = pf.error(8080)
print(json.dumps(out))
`;
// Real containers, 100 MB transfers and kubectl processes (no timing is asserted).
setDefaultTimeout(180_000);
const NS = `pf-${Date.now().toString(36)}`;
const MB100 = 100 * 1024 * 1024;
let s: TestServer;
const forwards: StreamingProcess[] = [];

const eventually = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 60_000) => poll(what, f, { timeoutMs, intervalMs: 250, context: () => s?.log.slice(-5000) ?? "" });
const kc = (...args: string[]) => s.kubectl("-n", NS, ...args);
const create = async (obj: Record<string, unknown>) => {
  const r = await s.kubectlWith({ stdin: JSON.stringify(obj) }, "-n", NS, "create", "-f", "-");
  expect(r.stderr).toBe("");
};
const running = (name: string) => eventually(`pod ${name} running`, async () => parseJson(await kc("get", "pod", name, "-o", "json")).status?.phase === "Running");
const inPod = async (pod: string, ...cmd: string[]) => (await kc("exec", pod, "--", ...cmd)).stdout;

// Two HTTP servers on loopback only, a 100 MB file with its hash, and a one-shot upload sink.
const WEB_SCRIPT = [
  "mkdir -p /srv/a /srv/b",
  "echo port-8080 > /srv/a/index.html",
  "echo port-9090 > /srv/b/index.html",
  `busybox dd if=/dev/urandom of=/srv/a/big bs=1048576 count=${MB100 / 1048576} 2>/dev/null`,
  "busybox sha256sum /srv/a/big > /srv/a/big.sha256",
  "httpd -p 127.0.0.1:8080 -h /srv/a",
  "httpd -p 127.0.0.1:9090 -h /srv/b",
  "(sleep 100000 | nc -l -p 7070 > /tmp/up) &",
  "touch /tmp/ready",
].join("\n");

/**
 * `kubectl port-forward TARGET :PORT...`; resolves to the local ports in the order asked. kubectl
 * names the pod's port, which for svc/ is the Service's targetPort: `podPorts` when they differ.
 */
async function portForward(target: string, remote: number[], podPorts = remote): Promise<{ pf: StreamingProcess; local: number[] }> {
  const pf = s.spawnKubectl("-n", NS, "port-forward", "--address", "127.0.0.1", target, ...remote.map((p) => `:${p}`));
  forwards.push(pf);
  const line = (p: number) => new RegExp(`Forwarding from 127\\.0\\.0\\.1:(\\d+) -> ${p}\\b`);
  const out = await pf.waitFor((o) => podPorts.every((p) => line(p).test(o)), 60_000);
  return { pf, local: podPorts.map((p) => Number(line(p).exec(out)![1])) };
}

/** A raw HTTP/1.0 GET (one TCP connection each), resolving to the body. */
function httpGet(port: number, path = "/"): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect({ host: "127.0.0.1", port }, () => sock.write(`GET ${path} HTTP/1.0\r\nHost: x\r\n\r\n`));
    sock.on("data", (d: Buffer) => chunks.push(d));
    sock.on("error", reject);
    sock.on("close", () => {
      const all = Buffer.concat(chunks);
      const end = all.indexOf("\r\n\r\n");
      resolve(end < 0 ? all : all.subarray(end + 4));
    });
  });
}

/** sha256 of the body of a GET, hashed as it streams. */
function hashGet(port: number, path: string): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const h = new Bun.CryptoHasher("sha256");
    let head = Buffer.alloc(0);
    let inBody = false;
    let bytes = 0;
    const sock = connect({ host: "127.0.0.1", port }, () => sock.write(`GET ${path} HTTP/1.0\r\nHost: x\r\n\r\n`));
    sock.on("data", (d: Buffer) => {
      if (inBody) {
        h.update(d);
        bytes += d.length;
        return;
      }
      head = Buffer.concat([head, d]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) return;
      inBody = true;
      const body = head.subarray(end + 4);
      h.update(body);
      bytes += body.length;
    });
    sock.on("error", reject);
    sock.on("close", () => resolve({ sha256: h.digest("hex"), bytes }));
  });
}

/** Sockets the agent holds inside the pod towards `port` (anything but TIME_WAIT). */
async function agentSocketsInPod(pod: string, port: number): Promise<number> {
  const out = await inPod(pod, "busybox", "netstat", "-tn");
  const re = new RegExp(`\\s127\\.0\\.0\\.1:\\d+\\s+127\\.0\\.0\\.1:${port}\\s+(\\S+)`, "g");
  return [...out.matchAll(re)].filter((m) => m[1] !== "TIME_WAIT").length;
}

/** Established TCP connections on this machine with `port` at either end (the tunnel to the agent). */
function establishedOnPort(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, "0");
  let n = 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const line of readFileSync(file, "utf8").split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 3 && f[3] === "01" && (f[1]!.endsWith(`:${hex}`) || f[2]!.endsWith(`:${hex}`))) n++;
    }
  }
  return n;
}

/** The server process's children (the agent is embedded in it): a helper per forward would show here. */
function childrenOf(pid: number): string[] {
  return readdirSync(`/proc/${pid}/task`).flatMap((t) => readFileSync(`/proc/${pid}/task/${t}/children`, "utf8").trim().split(/\s+/).filter(Boolean));
}

const upgradeHead = (pod: string) =>
  [
    `GET /api/v1/namespaces/${NS}/pods/${pod}/portforward HTTP/1.1`,
    "Host: 127.0.0.1",
    `Authorization: Bearer ${s.token()}`,
    "Connection: Upgrade",
    "Upgrade: websocket",
    "Sec-WebSocket-Version: 13",
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io",
  ].join("\r\n");

const session = () => PortForwardTestClient.connect(`wss://127.0.0.1:${s.port}/api/v1/namespaces/${NS}/pods/web/portforward`, { headers: { authorization: `Bearer ${s.token()}` }, ca: s.ca() });

describe.skipIf(!docker)("kubectl port-forward through the API server and the node's agent", () => {
  let agentPort = 0;

  beforeAll(async () => {
    s = await startServerWithNode(docker!);
    expect((await s.kubectl("create", "namespace", NS)).code).toBe(0);
    agentPort = parseJson(await s.kubectl("get", "nodes", "-o", "json")).items[0].status.daemonEndpoints.kubeletEndpoint.Port;
    await create({ apiVersion: "v1", kind: "Pod", metadata: { name: "web", labels: { app: "web" } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "main", ...serve(WEB_SCRIPT) }] } });
    await create({ apiVersion: "v1", kind: "Service", metadata: { name: "websvc" }, spec: { selector: { app: "web" }, ports: [{ name: "http", port: 80, targetPort: 8080 }] } });
    await create({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "webd" },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: "webd" } },
        template: { metadata: { labels: { app: "webd" } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "d", ...serve("mkdir -p /srv; echo from-deployment > /srv/index.html; httpd -p 127.0.0.1:8080 -h /srv") }] } },
      },
    });
    await create({ apiVersion: "v1", kind: "Pod", metadata: { name: "done" }, spec: { restartPolicy: "Never", containers: [{ name: "c", ...shContainer("true") }] } });
    await running("web");
    await eventually("the web pod's files and servers", async () => (await kc("exec", "web", "--", "test", "-e", "/tmp/ready")).code === 0, 120_000);
  }, 180_000);

  afterAll(async () => {
    for (const f of forwards) await f.stop();
    await s?.cleanup();
    if (docker) await removePodsOf(docker, NS);
  });

  test("a port bound only to 127.0.0.1 inside the pod is reached", async () => {
    const listening = await inPod("web", "busybox", "netstat", "-ltn");
    expect(listening).toMatch(/127\.0\.0\.1:8080\s/);
    expect(listening).not.toMatch(/(0\.0\.0\.0|:::):8080\s/);
    const { local } = await portForward("pod/web", [8080]);
    expect((await httpGet(local[0]!)).toString()).toBe("port-8080\n");
  });

  test("two ports in one session", async () => {
    const { local } = await portForward("pod/web", [8080, 9090]);
    expect((await httpGet(local[0]!)).toString()).toBe("port-8080\n");
    expect((await httpGet(local[1]!)).toString()).toBe("port-9090\n");
  });

  test("50 concurrent connections through one forward", async () => {
    const { pf, local } = await portForward("pod/web", [8080]);
    const bodies = await Promise.all(Array.from({ length: 50 }, () => httpGet(local[0]!)));
    expect(bodies.map((b) => b.toString())).toEqual(Array(50).fill("port-8080\n"));
    expect(pf.output().match(/Handling connection for/g)?.length).toBe(50);
  });

  test("100 MB each way, byte-exact", async () => {
    const { local } = await portForward("pod/web", [8080, 7070]);
    const expected = (await inPod("web", "cat", "/srv/a/big.sha256")).split(/\s/)[0];
    const got = await hashGet(local[0]!, "/big");
    expect(got).toEqual({ sha256: expected!, bytes: MB100 });

    const upload = new Uint8Array(MB100);
    for (let off = 0; off < upload.length; off += 65536) crypto.getRandomValues(upload.subarray(off, off + 65536));
    const sent = new Bun.CryptoHasher("sha256").update(upload).digest("hex");
    await new Promise<void>((resolve, reject) => {
      const sock = connect({ host: "127.0.0.1", port: local[1]! }, () => sock.end(upload));
      sock.on("error", reject);
      sock.on("close", () => resolve());
      sock.resume();
    });
    await eventually("the upload's sink to finish", async () => (await inPod("web", "busybox", "stat", "-c", "%s", "/tmp/up")).trim() === String(MB100));
    expect((await inPod("web", "busybox", "sha256sum", "/tmp/up")).split(/\s/)[0]).toBe(sent);
  });

  test("svc/NAME and deploy/NAME resolve to a pod", async () => {
    const svc = await portForward("svc/websvc", [80], [8080]);
    expect(svc.pf.output()).toMatch(/Forwarding from 127\.0\.0\.1:\d+ -> 8080/);
    expect((await httpGet(svc.local[0]!)).toString()).toBe("port-8080\n");
    await eventually("the deployment's pod", async () => parseJson(await kc("get", "pods", "-l", "app=webd", "-o", "json")).items.some((p: any) => p.status?.phase === "Running"));
    const deploy = await portForward("deploy/webd", [8080]);
    await eventually("the deployment's server", async () => (await httpGet(deploy.local[0]!)).toString() === "from-deployment\n");
  });

  test("a closed port is an error on that connection's stream; the session stays up", async () => {
    const c = await session();
    const refused = await c.forward(5555, "GET / HTTP/1.0\r\n\r\n").result;
    expect(refused.data.length).toBe(0);
    expect(refused.error).toContain("error forwarding port 5555 to pod web_");
    expect(refused.error).toContain("failed to connect to localhost:5555 inside the pod's network namespace, IPv4: dial tcp4 127.0.0.1:5555: connect: connection refused");
    expect(c.isOpen).toBe(true);
    const ok = await c.forward(8080, "GET / HTTP/1.0\r\n\r\n").result;
    expect(ok.error).toBe("");
    expect(ok.data.toString()).toEndWith("\r\n\r\nport-8080\n");
    c.close();

    // kubectl prints the refusal with upstream's words; client-go 1.32 then ends its own session
    // on any stream error ("lost connection to pod"), which is kubectl's choice, not the server's.
    const { pf, local } = await portForward("pod/web", [5555]);
    expect((await httpGet(local[0]!)).length).toBe(0);
    expect(await pf.proc.exited).toBe(1);
    await eventually("kubectl's last words", async () => pf.stderr().includes("lost connection to pod"));
    expect(pf.stderr()).toContain(`an error occurred forwarding ${local[0]} -> 5555: error forwarding port 5555 to pod web_${NS}, uid `);
    expect(pf.stderr()).toContain("connect: connection refused");
    expect(pf.stderr()).toContain("error: lost connection to pod");
  });

  test.skipIf(!!noPythonClient)("the Python client's port-forward (v4.channel.k8s.io, ports in the URL): several ports, an error on one", async () => {
    const p = Bun.spawn([PYTHON, "-c", PYTHON_PORT_FORWARD, s.kubeconfig, NS], { stdout: "pipe", stderr: "pipe" });
    const killer = setTimeout(() => p.kill("SIGKILL"), 60_000);
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    clearTimeout(killer);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    const got = JSON.parse(out);
    expect(got["8080"]).toBe("port-8080\n");
    expect(got["9090"]).toBe("port-9090\n");
    expect(got.error8080).toBeNull();
    expect(got.error5555).toContain(`error forwarding port 5555 to pod web_${NS}, uid `);
    expect(got.error5555).toContain("dial tcp4 127.0.0.1:5555: connect: connection refused");
  });

  test("a client killed mid-transfer leaves no socket or helper process behind", async () => {
    const children = childrenOf(s.proc.pid);
    const tunnelsBefore = establishedOnPort(agentPort);
    expect(await agentSocketsInPod("web", 8080)).toBe(0);
    const { pf, local } = await portForward("pod/web", [8080]);
    let received = 0;
    const sock = connect({ host: "127.0.0.1", port: local[0]! }, () => sock.write("GET /big HTTP/1.0\r\n\r\n"));
    sock.on("error", () => {});
    sock.on("data", (d: Buffer) => {
      received += d.length;
      if (received > 4 * 1024 * 1024) sock.pause(); // a slow reader: the transfer is mid-way
    });
    await eventually("a few MB through", async () => received > 4 * 1024 * 1024);
    expect(await agentSocketsInPod("web", 8080)).toBe(1);
    expect(establishedOnPort(agentPort)).toBeGreaterThan(tunnelsBefore);

    pf.proc.kill("SIGKILL");
    sock.destroy();
    await eventually("the agent's socket in the pod closed", async () => (await agentSocketsInPod("web", 8080)) === 0);
    await eventually("the tunnel to the agent closed", async () => establishedOnPort(agentPort) === tunnelsBefore);
    expect(childrenOf(s.proc.pid)).toEqual(children);
  });

  test("bad input: no credentials, a missing pod, a completed pod, a node whose agent cannot be reached, a pod deleted mid-session", async () => {
    const missing = await kc("port-forward", "pod/nope", ":80");
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('pods "nope" not found');

    // The same authentication as every request: no credentials, no upgrade.
    const anonymous = await rawRequest(s.port, upgradeHead("web").replace(/Authorization: [^\r]*\r\n/, ""), undefined, 10_000);
    expect(anonymous.status).toBe(401);

    await eventually("the completed pod", async () => parseJson(await kc("get", "pod", "done", "-o", "json")).status?.phase === "Succeeded");
    const completed = await rawRequest(s.port, upgradeHead("done"), undefined, 10_000);
    expect(completed.status).toBe(400);
    expect(completed.json?.message).toBe("cannot port-forward to a completed pod; current phase is Succeeded");

    // A node that says where its agent is, but nothing answers there.
    await s.kubectlWith({ stdin: JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name: `ghost-${NS}`, annotations: { [SERVING_CERT_ANNOTATION]: s.ca() } } }) }, "create", "-f", "-");
    const deadPort = freePort();
    const patched = await s.kubectl("patch", "node", `ghost-${NS}`, "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { addresses: [{ type: "InternalIP", address: "127.0.0.1" }], daemonEndpoints: { kubeletEndpoint: { Port: deadPort } } } }));
    expect(patched.stderr).toBe("");
    await create({ apiVersion: "v1", kind: "Pod", metadata: { name: "stranded" }, spec: { nodeName: `ghost-${NS}`, containers: [{ name: "c", ...shContainer("true") }] } });
    expect((await kc("patch", "pod", "stranded", "--subresource=status", "--type=merge", "-p", JSON.stringify({ status: { phase: "Running" } }))).stderr).toBe("");
    const unreachable = await rawRequest(s.port, upgradeHead("stranded"), undefined, 20_000);
    expect(unreachable.status).toBe(503);
    expect(unreachable.json?.message).toContain(`error dialing backend: the agent on node "ghost-${NS}" (https://127.0.0.1:${deadPort}) did not accept the port-forward`);
    const viaKubectl = await kc("port-forward", "pod/stranded", ":80");
    expect(viaKubectl.code).not.toBe(0);
    expect(viaKubectl.stderr).toContain("error dialing backend");

    // A session open while its pod goes away: later connections fail on their own streams, promptly.
    await create({ apiVersion: "v1", kind: "Pod", metadata: { name: "victim" }, spec: { terminationGracePeriodSeconds: 0, containers: [{ name: "v", ...serve("mkdir -p /srv; echo victim > /srv/index.html; httpd -p 127.0.0.1:8080 -h /srv") }] } });
    await running("victim");
    const c = await PortForwardTestClient.connect(`wss://127.0.0.1:${s.port}/api/v1/namespaces/${NS}/pods/victim/portforward`, { headers: { authorization: `Bearer ${s.token()}` }, ca: s.ca() });
    await eventually("victim's server", async () => (await c.forward(8080, "GET / HTTP/1.0\r\n\r\n").result).data.toString().endsWith("victim\n"));
    expect((await kc("delete", "pod", "victim", "--grace-period=0", "--force")).code).toBe(0);
    await eventually("victim's containers gone", async () => (await docker!.listContainers({ [LABELS.podNamespace]: NS, [LABELS.podName]: "victim" })).length === 0);
    expect(c.isOpen).toBe(true);
    const after = await c.forward(8080, "GET / HTTP/1.0\r\n\r\n").result;
    expect(after.data.length).toBe(0);
    expect(after.error).toMatch(/error forwarding port 8080 to pod victim_.*: (pod not found on this node|the pod's sandbox is not running)/);
    c.close();
  });
});
