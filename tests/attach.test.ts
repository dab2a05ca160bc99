// `kubectl attach` and `kubectl run -it --rm` for real: a `bramble server` process whose embedded
// agent runs pods on the Docker engine, the installed kubectl (WebSocket v5.channel.k8s.io),
// Debian's python3-kubernetes (v4.channel.k8s.io), and a WebSocket of our own where a test needs
// to see the frames (terminal size, the Status on the error channel). Needs dockerd (CI starts
// one; locally this skips without it).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Subprocess } from "bun";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { TEST_IMAGE } from "../src/agent/images/testimage";
import { dockerForTests } from "../src/agent/runtime/docker/testing";
import { LABELS } from "../src/agent/runtime/runtime";
import { testEnv } from "./helpers/env";
import { eventually as poll } from "./helpers/eventually";
import { removePodsOf, shContainer, startServerWithNode } from "./helpers/pods";
import { parseJson, type TestServer } from "./helpers/server";

const docker = await dockerForTests("attach tests");
// Each test waits on real containers and kubectl processes (no timing is asserted).
setDefaultTimeout(90_000);
const NS = `at-${Date.now().toString(36)}`;
const haveScript = existsSync("/usr/bin/script");
const PYTHON = "/usr/bin/python3";
const havePythonClient = (() => {
  try {
    return Bun.spawnSync([PYTHON, "-c", "import kubernetes"], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
  } catch {
    return false;
  }
})();
if (!havePythonClient && process.env.CI) throw new Error("CI must install python3-kubernetes");
let s: TestServer;
let agentPort = 0;

const eventually = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 60_000) => poll(what, f, { timeoutMs, intervalMs: 250, context: () => s?.log.slice(-5000) ?? "" });
const kc = (...args: string[]) => s.kubectl("-n", NS, ...args);
const podJson = async (name: string) => parseJson(await kc("get", "pod", name, "-o", "json"));
const containerState = async (pod: string, container: string) => (await podJson(pod)).status?.containerStatuses?.find((c: any) => c.name === container)?.state ?? {};

/** A process with a pipe to its stdin; its output collected as it arrives. */
interface Interactive {
  proc: Subprocess<"pipe", "pipe", "pipe">;
  out(): string;
  err(): string;
  write(text: string): void;
  waitFor(what: string, predicate: (out: string) => boolean): Promise<void>;
}

function interactive(argv: string[]): Interactive {
  const proc = Bun.spawn(argv, { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: testEnv() });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 80_000);
  void proc.exited.then(() => clearTimeout(timer));
  let out = "";
  let err = "";
  const read = async (stream: ReadableStream<Uint8Array>, sink: (t: string) => void) => {
    const decoder = new TextDecoder();
    for await (const chunk of stream) sink(decoder.decode(chunk, { stream: true }));
  };
  void read(proc.stdout, (t) => (out += t));
  void read(proc.stderr, (t) => (err += t));
  return {
    proc,
    out: () => out,
    err: () => err,
    write(text) {
      proc.stdin.write(text);
      proc.stdin.flush();
    },
    waitFor: async (what, predicate) => void await eventually(`${what}\nstdout so far: ${JSON.stringify(out)}\nstderr so far: ${JSON.stringify(err)}`, async () => predicate(out)),
  };
}

const kubectlArgv = (...args: string[]) => ["kubectl", "--kubeconfig", s.kubeconfig, "-n", NS, ...args];
/** kubectl under `script`, which gives it a terminal as a user's would have. */
const inTerminal = (...args: string[]) => ["script", "-qec", kubectlArgv(...args).map((a) => `'${a}'`).join(" "), "/dev/null"];

/** A WebSocket to pods/attach with the admin token, collecting each channel's text. */
async function attachSocket(pod: string, query: string) {
  const ws = new WebSocket(`${s.url.replace(/^https:/, "wss:")}/api/v1/namespaces/${NS}/pods/${pod}/attach?${query}`, {
    protocols: ["v5.channel.k8s.io", "v4.channel.k8s.io"],
    headers: { authorization: `Bearer ${s.token()}` },
    tls: { ca: s.ca() },
  } as unknown as string[]);
  ws.binaryType = "arraybuffer";
  const channels: Record<number, string> = {};
  ws.onmessage = (e) => {
    const b = new Uint8Array(e.data as ArrayBuffer);
    channels[b[0]!] = (channels[b[0]!] ?? "") + new TextDecoder().decode(b.subarray(1));
  };
  const closed = new Promise<number>((r) => ws.addEventListener("close", (e) => r(e.code)));
  await new Promise((r, j) => ((ws.onopen = r), (ws.onerror = j)));
  const send = (channel: number, text: string) => ws.send(new Uint8Array([channel, ...new TextEncoder().encode(text)]));
  return { ws, channels, closed, send };
}

/** Established or half-closed (peer gone, we not) TCP connections on a local port, as `ss` sees them. */
function connectionsOnPort(port: number): string[] {
  const r = Bun.spawnSync(["ss", "-Htan", `( sport = :${port} or dport = :${port} )`], { stdout: "pipe" });
  return r.stdout
    .toString()
    .split("\n")
    .filter((l) => /^(ESTAB|CLOSE-WAIT|FIN-WAIT|LAST-ACK)/.test(l));
}

describe.skipIf(!docker)("kubectl attach and kubectl run -it through the API server and the node's agent", () => {
  beforeAll(async () => {
    s = await startServerWithNode(docker!);
    expect((await s.kubectl("create", "namespace", NS)).code).toBe(0);
    const echo = "while read l; do echo out:$l; echo err:$l >&2; done";
    const pods = [
      {
        metadata: { name: "echo" },
        spec: {
          terminationGracePeriodSeconds: 1,
          restartPolicy: "Never",
          containers: [
            { name: "main", ...shContainer(echo), stdin: true },
            { name: "quiet", ...shContainer("echo quiet; sleep 100000") },
            { name: "done", ...shContainer("echo bye") },
          ],
        },
      },
      { metadata: { name: "term" }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "sh", image: TEST_IMAGE, imagePullPolicy: "Never", command: ["sh"], stdin: true, tty: true }] } },
      { metadata: { name: "once" }, spec: { terminationGracePeriodSeconds: 1, restartPolicy: "Never", containers: [{ name: "main", ...shContainer("while read l; do echo out:$l; done; echo stdin-closed"), stdin: true, stdinOnce: true }] } },
      { metadata: { name: "py" }, spec: { terminationGracePeriodSeconds: 1, restartPolicy: "Never", containers: [{ name: "sh", image: TEST_IMAGE, imagePullPolicy: "Never", command: ["sh"], stdin: true }] } },
      { metadata: { name: "finished" }, spec: { restartPolicy: "Never", containers: [{ name: "c", ...shContainer("true") }] } },
      // Never starts: its container is in the spec but not on the node.
      { metadata: { name: "imageless" }, spec: { containers: [{ name: "c", image: "bramble/absent:none", imagePullPolicy: "Never", stdin: true }] } },
    ];
    for (const p of pods) {
      const r = await s.kubectlWith({ stdin: JSON.stringify({ apiVersion: "v1", kind: "Pod", ...p }) }, "-n", NS, "create", "-f", "-");
      expect(r.stderr).toBe("");
    }
    for (const name of ["echo", "term", "py", "once"]) await eventually(`pod ${name} running`, async () => (await podJson(name)).status?.phase === "Running");
    await eventually("container done exited", async () => (await containerState("echo", "done")).terminated);
    await eventually("pod finished succeeded", async () => (await podJson("finished")).status?.phase === "Succeeded");
    const node = parseJson(await s.kubectl("get", "nodes", "-o", "json")).items[0];
    agentPort = node.status.daemonEndpoints.kubeletEndpoint.Port;
  }, 120_000);

  afterAll(async () => {
    await s?.cleanup();
    if (docker) await removePodsOf(docker, NS);
  });

  test("attach -i sends input to the main process and brings back its stdout and stderr; the end of input ends the session, not the process", async () => {
    const k = interactive(kubectlArgv("attach", "-i", "echo", "-c", "main"));
    k.write("hello\n");
    await k.waitFor("the echoed line", (out) => out.includes("out:hello\n"));
    await eventually("the line on stderr", async () => k.err().includes("err:hello\n"));
    k.write("again\n");
    await k.waitFor("the second line", (out) => out.includes("out:again\n"));
    k.proc.stdin.end();
    expect(await k.proc.exited).toBe(0);
    expect((await containerState("echo", "main")).running).toBeDefined();
  });

  test.skipIf(!haveScript)("kubectl run -it --rm: attaches to a fresh pod's shell on a terminal, runs the typed commands, deletes the pod on exit", async () => {
    const k = interactive(inTerminal("run", "-it", "--rm", "debug", `--image=${TEST_IMAGE}`, "--image-pull-policy=Never", "--restart=Never", "--", "sh"));
    await k.waitFor("kubectl to attach", (out) => out.includes("If you don't see a command prompt"));
    expect((await podJson("debug")).spec.containers[0]).toMatchObject({ stdin: true, stdinOnce: true, tty: true });
    k.write("tty; echo run-$((40+2))\r");
    await k.waitFor("the command's output", (out) => out.includes("run-42"));
    expect(k.out()).toContain("/dev/pts/");
    k.write("exit\r");
    expect(await k.proc.exited).toBe(0);
    expect(k.out()).toContain('pod "debug" deleted');
    const gone = await kc("get", "pod", "debug");
    expect(gone.stderr).toContain('pods "debug" not found');
  });

  test("kubectl run -i --rm with piped stdin: the commands run, the end of input ends the shell (stdinOnce), the pod is deleted", async () => {
    const r = await s.kubectlWith({ stdin: "echo piped-$((2*3))\necho to-stderr >&2\n", timeoutMs: 80_000 }, "-n", NS, "run", "-i", "--rm", "piped", `--image=${TEST_IMAGE}`, "--image-pull-policy=Never", "--restart=Never", "--", "sh");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("piped-6\n");
    expect(r.stderr).toContain("to-stderr\n");
    expect(r.stdout).toContain('pod "piped" deleted');
    expect((await kc("get", "pod", "piped")).stderr).toContain('pods "piped" not found');
  });

  test("a terminal: one stream, resized by the client's resize message (stty size inside sees it)", async () => {
    const a = await attachSocket("term", "container=sh&stdin=true&stdout=true&stderr=true&tty=true");
    expect(a.ws.protocol).toBe("v5.channel.k8s.io");
    a.send(4, JSON.stringify({ Width: 77, Height: 22 }));
    a.send(0, "stty size\n");
    await eventually("stty's answer", async () => a.channels[1]?.includes("22 77"));
    a.send(4, JSON.stringify({ Width: 120, Height: 40 }));
    a.send(0, "stty size\n");
    await eventually("stty's answer after the second resize", async () => a.channels[1]?.includes("40 120"));
    expect(a.channels[2]).toBeUndefined();
    a.ws.close();
    await a.closed;
    // No stdinOnce: the shell is still there for the next attach.
    expect((await containerState("term", "sh")).running).toBeDefined();
  });

  test.skipIf(!haveScript)("kubectl attach -it gets the container's terminal", async () => {
    const k = interactive(inTerminal("attach", "-it", "term", "-c", "sh"));
    await k.waitFor("kubectl to attach", (out) => out.includes("If you don't see a command prompt"));
    k.write("tty; echo tt-$((1+1))\r");
    await k.waitFor("the command's output", (out) => out.includes("tt-2"));
    expect(k.out()).toContain("/dev/pts/");
    k.proc.kill("SIGKILL");
    await k.proc.exited;
  });

  test("errors before the upgrade are Statuses with upstream's codes", async () => {
    const attach = (pod: string, query: string) => s.fetch(`/api/v1/namespaces/${NS}/pods/${pod}/attach?${query}`, { method: "POST" });
    const expectStatus = async (res: Response, code: number, message: string) => {
      const body = (await res.json()) as { kind?: string; code?: number; message?: string };
      expect({ status: res.status, kind: body.kind, code: body.code, message: body.message }).toEqual({ status: code, kind: "Status", code, message });
    };
    await expectStatus(await attach("echo", "container=quiet&stdin=true&stdout=true"), 400, "container quiet in pod echo does not accept stdin: it was created without stdin: true, so only its output can be attached");
    await expectStatus(await attach("echo", "container=nope&stdout=true"), 400, "container nope is not valid for pod echo");
    await expectStatus(await attach("echo", "stdout=true"), 400, "a container name must be specified for pod echo, choose one of: [main quiet done]");
    await expectStatus(await attach("echo", "container=main&stdout=false&stdin=0"), 400, "you must specify at least 1 of stdin, stdout, stderr");
    await expectStatus(await attach("finished", "container=c&stdout=true"), 400, "cannot attach a container in a completed pod; current phase is Succeeded");
    expect((await attach("nopod", "stdout=true")).status).toBe(404);
    // The same authentication as every request: no credentials, no attach.
    const anonymous = await fetch(`${s.url}/api/v1/namespaces/${NS}/pods/echo/attach?container=main&stdout=true`, { method: "POST", tls: { ca: s.ca() } });
    expect(anonymous.status).toBe(401);
    const plain = await attach("echo", "container=main&stdout=true");
    expect(plain.status).toBe(400);
    expect(((await plain.json()) as { message: string }).message).toContain("WebSocket");
    // kubectl prints them.
    const noStdin = await kc("attach", "-i", "echo", "-c", "quiet");
    expect(noStdin.code).not.toBe(0);
    expect(noStdin.stderr).toContain("container quiet in pod echo does not accept stdin");
  });

  test("a stopped container and one that never started: a Status on the error channel, then a normal close", async () => {
    const stopped = await attachSocket("echo", "container=done&stdout=true&stderr=true");
    expect(await stopped.closed).toBe(1000);
    expect(JSON.parse(stopped.channels[3]!)).toMatchObject({ status: "Failure", code: 400, reason: "BadRequest", message: 'container "done" in pod "echo" is not running' });
    const never = await attachSocket("imageless", "container=c&stdin=true&stdout=true");
    expect(await never.closed).toBe(1000);
    expect(JSON.parse(never.channels[3]!)).toMatchObject({ status: "Failure", code: 404, reason: "NotFound", message: `container c not found in pod imageless_${NS}` });
    const k = await kc("attach", "echo", "-c", "done");
    expect(k.code).not.toBe(0);
    expect(k.stderr).toContain('container "done" in pod "echo" is not running');
  });

  test.skipIf(!havePythonClient)("the Python client attaches over v4.channel.k8s.io: input in, stdout and stderr apart, Success at the end", async () => {
    const script = join(import.meta.dir, "helpers", "python-attach.py");
    const p = Bun.spawn([PYTHON, script, s.kubeconfig, NS, "py", "sh", "echo py-$((6*7)); echo py-err >&2; exit 0\n"], { stdout: "pipe", stderr: "pipe", env: testEnv() });
    const timer = setTimeout(() => p.kill("SIGKILL"), 80_000);
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    clearTimeout(timer);
    expect({ code, err }).toEqual({ code: 0, err: "" });
    const r = JSON.parse(out);
    expect(r.stdout).toBe("py-42\n");
    expect(r.stderr).toBe("py-err\n");
    expect(JSON.parse(r.error)).toMatchObject({ status: "Success" });
  });

  test("a client that vanishes mid-attach leaves no connection on the API server or the agent; the process keeps running without stdinOnce", async () => {
    const k = interactive(kubectlArgv("attach", "-i", "echo", "-c", "main"));
    k.write("vanish\n");
    await k.waitFor("the echoed line", (out) => out.includes("out:vanish\n"));
    expect(connectionsOnPort(agentPort).length).toBeGreaterThan(0);
    k.proc.kill("SIGKILL");
    await k.proc.exited;
    await eventually("no connection left on the agent's port", async () => connectionsOnPort(agentPort).length === 0);
    await eventually("no half-closed connection left on the API server's port", async () => !connectionsOnPort(s.port).some((l) => l.startsWith("CLOSE-WAIT")));
    expect((await containerState("echo", "main")).running).toBeDefined();
    const again = interactive(kubectlArgv("attach", "-i", "echo", "-c", "main"));
    again.write("back\n");
    await again.waitFor("the echoed line", (out) => out.includes("out:back\n"));
    again.proc.stdin.end();
    expect(await again.proc.exited).toBe(0);
  });

  test("a client that vanishes from a stdinOnce container: the agent lets go of the engine's attach, so the process's stdin closes and it ends", async () => {
    const k = interactive(kubectlArgv("attach", "-i", "once", "-c", "main"));
    k.write("still\n");
    await k.waitFor("the echoed line", (out) => out.includes("out:still\n"));
    k.proc.kill("SIGKILL");
    await k.proc.exited;
    // Only the engine connection's end closes a stdinOnce container's stdin: the loop then ends.
    const ended = await eventually("the process to see the end of its stdin", async () => (await containerState("once", "main")).terminated);
    expect(ended.exitCode).toBe(0);
    await eventually("no connection left on the agent's port", async () => connectionsOnPort(agentPort).length === 0);
    await eventually("no half-closed connection left on the API server's port", async () => !connectionsOnPort(s.port).some((l) => l.startsWith("CLOSE-WAIT")));
    expect((await kc("logs", "once", "-c", "main")).stdout).toBe("out:still\nstdin-closed\n");
  });
});

