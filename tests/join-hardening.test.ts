// The join path as an attacker sees it, against a real `bramble server` process whose embedded
// agent runs pods on the Docker engine: the server's own node name cannot be taken by a joiner,
// the embedded node is a node user (not the admin) and still does everything a node does, the
// server token (k3s's K10... form) joins a real `bramble agent`, and the join endpoint refuses
// oversized, slow and repeated requests without holding them in memory.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Subprocess } from "bun";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TEST_IMAGE, ensureTestImage } from "../src/agent/images/testimage";
import { dockerForTests } from "../src/agent/runtime/docker/testing";
import { readKubeconfig, resolveContext } from "../src/client/kubeconfig";
import { formatToken, generateToken, tokenSecret } from "../src/server/auth/bootstrap-token";
import { eventually as poll } from "./helpers/eventually";
import { mb, rawRequest, rssBytes, tlsSocket, collect, parseResponse } from "./helpers/raw-https";
import { parseJson, ROOT, startTestServer, type TestServer } from "./helpers/server";

const docker = await dockerForTests("join hardening tests");
setDefaultTimeout(90_000);
const MAIN = join(ROOT, "src", "main.ts");
const work = mkdtempSync(join(tmpdir(), "bramble-join-hardening-"));
const agents = new Set<Subprocess>();
const NS = `jh-${Date.now().toString(36)}`;
let s: TestServer;
let serverNode: string;
let bootstrap: string;

const eventually = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 60_000) => poll(what, f, { timeoutMs, intervalMs: 250, context: () => s?.log.slice(-5000) ?? "" });

async function bramble(...args: string[]) {
  const p = Bun.spawn([process.execPath, MAIN, ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, HOME: work } });
  agents.add(p);
  const timer = setTimeout(() => p.kill("SIGKILL"), 60_000);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  agents.delete(p);
  return { code, stdout, stderr };
}

/** A `bramble agent` left running; its output accumulates in log(). */
function startAgent(args: string[]) {
  const p = Bun.spawn([process.execPath, MAIN, "agent", ...args], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: { ...process.env, HOME: work } });
  agents.add(p);
  let log = "";
  const decoder = new TextDecoder();
  for (const stream of [p.stdout, p.stderr]) void (async () => { for await (const c of stream) log += decoder.decode(c); })().catch(() => {});
  return { log: () => log, proc: p };
}

const join_ = (body: unknown) => s.fetch("/v1-bramble/join", { method: "POST", headers: { authorization: "", "content-type": "application/json" }, body: JSON.stringify(body) });

beforeAll(async () => {
  if (docker) await ensureTestImage(docker);
  // A free port for the agent's endpoint: other servers (or a kubelet) may hold 10250.
  process.env.BRAMBLE_KUBELET_PORT = "0";
  s = await startTestServer({ agent: true, args: docker ? [] : ["--disable-agent"] });
  delete process.env.BRAMBLE_KUBELET_PORT;
  const token = generateToken();
  expect((await s.kubectlWith({ stdin: JSON.stringify(tokenSecret(token, { ttlSeconds: 3600 })) }, "create", "-f", "-")).code).toBe(0);
  bootstrap = formatToken(token);
}, 120_000);

afterAll(async () => {
  for (const p of agents) p.kill("SIGKILL");
  await Promise.all([...agents].map((p) => p.exited));
  await s?.cleanup();
  rmSync(work, { recursive: true, force: true });
});

describe.skipIf(!docker)("the server's own node", () => {
  beforeAll(async () => {
    serverNode = await eventually("the embedded node registered", async () => parseJson(await s.kubectl("get", "nodes", "-o", "json")).items[0]?.metadata.name as string | undefined);
  });

  test("a join asking for the server's node name is refused with 409 Conflict, with a bootstrap token or the server token", async () => {
    const serverSecret = readFileSync(join(s.dataDir, "server", "token"), "utf8").trim().split("::server:")[1]!;
    for (const token of [bootstrap, serverSecret]) {
      const res = await join_({ token, nodeName: serverNode });
      expect(res.status).toBe(409);
      expect(await res.json()).toMatchObject({
        kind: "Status",
        reason: "Conflict",
        code: 409,
        message: `a node named "${serverNode}" has already joined this cluster; give this machine another --node-name, or remove the old node first (kubectl delete node ${serverNode})`,
      });
    }
    // And through the agent itself: nothing is stored.
    const r = await bramble("agent", "--server", s.url, "--token", bootstrap, "--ca-cert-hash", caHash(), "--node-name", serverNode, "--data-dir", join(work, "impostor"));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(`a node named "${serverNode}" has already joined this cluster`);
  });

  test("its requests are authenticated as system:node:<name>: it cannot read a Secret no pod references", async () => {
    const path = join(s.dataDir, "server", "node.kubeconfig");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const creds = resolveContext(readKubeconfig(path));
    expect(creds.token).toStartWith(`node.${serverNode}.`);
    const asNode = (p: string) => fetch(s.url + p, { headers: { authorization: `Bearer ${creds.token}` }, tls: { ca: s.ca() } });
    expect((await s.kubectl("create", "secret", "generic", "lonely", "-n", "default", "--from-literal=k=v")).code).toBe(0);
    const res = await asNode("/api/v1/namespaces/default/secrets/lonely");
    expect(res.status).toBe(403);
    expect(((await res.json()) as { message: string }).message).toBe(
      `secrets "lonely" is forbidden: User "system:node:${serverNode}" cannot get resource "secrets" in API group "" in the namespace "default": no relationship found between node '${serverNode}' and this object`,
    );
    expect((await asNode(`/api/v1/nodes/${serverNode}`)).status).toBe(200);
    // Its credential Secret is marked as the server's node.
    const secret = parseJson(await s.kubectl("get", "secret", "-n", "kube-system", `node-credential-${serverNode}`, "-o", "json"));
    expect(secret.metadata.labels["bramble.io/server-node"]).toBe("true");
  });

  test("as a node user it still runs pods with a referenced Secret and a service-account token, reports status, serves logs and exec, holds its Lease and records events", async () => {
    expect((await s.kubectl("create", "namespace", NS)).code).toBe(0);
    expect((await s.kubectl("create", "secret", "generic", "app", "-n", NS, "--from-literal=word=pinecone")).code).toBe(0);
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name: "worker" },
      spec: {
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: "c",
            image: TEST_IMAGE,
            imagePullPolicy: "Never",
            command: ["sh", "-c", "trap 'exit 0' TERM; echo word=$WORD; ls /var/run/secrets/kubernetes.io/serviceaccount; sleep 100000 & wait"],
            env: [{ name: "WORD", valueFrom: { secretKeyRef: { name: "app", key: "word" } } }],
          },
        ],
      },
    };
    expect((await s.kubectlWith({ stdin: JSON.stringify(pod) }, "-n", NS, "create", "-f", "-")).code).toBe(0);
    await eventually("worker running", async () => parseJson(await s.kubectl("-n", NS, "get", "pod", "worker", "-o", "json")).status?.phase === "Running");
    const logs = await eventually("worker's logs", async () => {
      const r = await s.kubectl("-n", NS, "logs", "worker");
      return r.stdout.includes("token") ? r.stdout : undefined;
    });
    expect(logs).toContain("word=pinecone");
    const exec = await s.kubectl("-n", NS, "exec", "worker", "--", "sh", "-c", "echo from-exec");
    expect(exec.stdout).toBe("from-exec\n");
    const lease = parseJson(await s.kubectl("get", "lease", "-n", "kube-node-lease", serverNode, "-o", "json"));
    expect(lease.spec.holderIdentity).toBe(serverNode);
    await eventually("events from the node's kubelet", async () => parseJson(await s.kubectl("-n", NS, "get", "events", "-o", "json")).items.some((e: any) => e.involvedObject?.name === "worker" && e.source?.host === serverNode));
    expect(s.log).not.toContain(`User "system:node:${serverNode}" cannot`);
    expect((await s.kubectl("-n", NS, "delete", "pod", "worker", "--wait=true", "--timeout=60s")).code).toBe(0);
  });
});

/** The CA pin, as the server token file carries it. */
const caHash = () => `sha256:${readFileSync(join(s.dataDir, "server", "token"), "utf8").slice(3, 67)}`;

describe("the server token", () => {
  test("is kept in k3s's full form, owner-only", () => {
    const path = join(s.dataDir, "server", "token");
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, "utf8")).toMatch(/^K10[0-9a-f]{64}::server:[0-9a-f]{64}\n$/);
  });

  test("`bramble agent --server URL --token K10...` joins with that one string; the bare secret joins with --ca-cert-hash", async () => {
    const full = readFileSync(join(s.dataDir, "server", "token"), "utf8").trim();
    const secret = full.split("::server:")[1]!;
    const hash = `sha256:${full.slice(3, 67)}`;
    const a = startAgent(["--server", s.url, "--token", full, "--node-name", "by-server-token", "--data-dir", join(work, "a"), "--docker-socket", "/nonexistent/docker.sock", "--kubelet-port", "0"]);
    const b = startAgent(["--server", s.url, "--token", secret, "--ca-cert-hash", hash, "--node-name", "by-short-token", "--data-dir", join(work, "b"), "--docker-socket", "/nonexistent/docker.sock", "--kubelet-port", "0"]);
    for (const [name, agent] of [["by-server-token", a], ["by-short-token", b]] as const) {
      await eventually(`${name} registered`, async () => (await s.kubectl("get", "node", name)).code === 0 || (agent.proc.exitCode !== null && Promise.reject(new Error(agent.log()))));
      expect(agent.log()).toContain("joined the cluster");
      expect(statSync(join(work, name === "by-server-token" ? "a" : "b", "agent", "kubelet.kubeconfig")).mode & 0o777).toBe(0o600);
    }
    expect(s.log).toContain('node joined node=by-server-token via="server token"');
  });

  test("a short secret without --ca-cert-hash, a wrong secret, and a K10 token for another CA are refused", async () => {
    const full = readFileSync(join(s.dataDir, "server", "token"), "utf8").trim();
    const noPin = await bramble("agent", "--server", s.url, "--token", "whatever", "--node-name", "n-nopin", "--data-dir", join(work, "nopin"));
    expect(noPin.code).not.toBe(0);
    expect(noPin.stderr).toStartWith("bramble: --ca-cert-hash: required to join");

    const wrong = await bramble("agent", "--server", s.url, "--token", full.replace(/::server:.*/, "::server:not-the-secret"), "--node-name", "n-wrong", "--data-dir", join(work, "wrong"));
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('the server refused to let node "n-wrong" join: the server token is not valid for this cluster');
    const res = await join_({ token: "not-the-secret", nodeName: "n-wrong" });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401, message: "the server token is not valid for this cluster" });

    const otherCa = await bramble("agent", "--server", s.url, "--token", `K10${"0".repeat(64)}::server:${full.split("::server:")[1]}`, "--node-name", "n-other", "--data-dir", join(work, "other"));
    expect(otherCa.code).not.toBe(0);
    expect(otherCa.stderr).toContain("does not match --ca-cert-hash");
    expect((await s.kubectl("get", "node", "n-wrong")).code).not.toBe(0);
  });
});

describe("join endpoint limits", () => {
  const head = (extra: string) => `POST /v1-bramble/join HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: close\r\n${extra}`;

  test("a 50 MB body is refused with 413 before it is read: the server's RSS does not grow by it", async () => {
    const before = rssBytes(s.proc.pid);
    const declared = await rawRequest(s.port, head(`Content-Length: ${50 * 1024 * 1024}`), { bytes: 50 * 1024 * 1024 });
    expect(declared.status).toBe(413);
    expect(declared.json).toMatchObject({ kind: "Status", reason: "RequestEntityTooLarge", code: 413 });
    const chunked = await rawRequest(s.port, head("Transfer-Encoding: chunked"), { bytes: 50 * 1024 * 1024, chunked: true });
    expect(chunked.status).toBe(413);
    expect(chunked.json).toMatchObject({ kind: "Status", reason: "RequestEntityTooLarge", code: 413 });
    const after = rssBytes(s.proc.pid);
    console.log(`server RSS around two 50 MB join requests: ${mb(before)} MB -> ${mb(after)} MB (${mb(after - before)} MB)`);
    expect(after - before).toBeLessThan(16 * 1024 * 1024);
    expect((await fetch(`${s.url}/healthz`, { tls: { ca: s.ca() } })).status).toBe(200);
  });

  test("a body that never arrives holds a slot only until its deadline; more than 4 at once from one source get 429", async () => {
    const slow = await Promise.all([1, 2, 3, 4].map(async () => {
      const sock = await tlsSocket(s.port);
      const answer = collect(sock, 30_000);
      sock.write(head("Content-Length: 100") + "\r\n\r\n{");
      return { answer }; // not the promise itself, which the map's async function would wait for
    }));
    await Bun.sleep(500); // the four are being read
    const fifth = await rawRequest(s.port, head("Content-Length: 0"), undefined, 10_000);
    expect(fifth.status).toBe(429);
    expect(fifth.headers["retry-after"]).toBe("1");
    expect(fifth.json).toMatchObject({ kind: "Status", reason: "TooManyRequests", code: 429, details: { retryAfterSeconds: 1 } });
    for (const text of await Promise.all(slow.map((x) => x.answer))) {
      const r = parseResponse(text);
      expect(r.status).toBe(408);
      expect(r.json).toMatchObject({ kind: "Status", reason: "Timeout", code: 408 });
    }
  });

  test("repeated bad tokens from one source get 429 with Retry-After, even with a good token, until the window passes", async () => {
    let refused: Response | undefined;
    for (let i = 0; i < 12 && !refused; i++) {
      const res = await join_({ token: `zzzzzz.${"0".repeat(16)}`, nodeName: "guesser" });
      if (res.status === 429) refused = res;
      else expect(res.status).toBe(401);
    }
    expect(refused).toBeDefined();
    expect(Number(refused!.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await refused!.json()).toMatchObject({ kind: "Status", reason: "TooManyRequests", code: 429 });
    const good = await join_({ token: bootstrap, nodeName: "patient" });
    expect(good.status).toBe(429);
    expect((await fetch(`${s.url}/healthz`, { tls: { ca: s.ca() } })).status).toBe(200);
  });
});
