// Debian's python3-kubernetes (an independent client that spells booleans "True" and speaks
// exec over v4.channel.k8s.io) against a real `bramble server` process, configured only by the
// kubeconfig the server wrote, passed explicitly. Watch, version and the boolean spellings need
// no node; exec and logs run on the embedded node's Docker engine.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import type { Subprocess } from "bun";
import { join } from "node:path";
import { dockerForTests } from "../src/agent/runtime/docker/testing";
import { eventually } from "./helpers/eventually";
import { removePodsOf, servingContainer, startServerWithNode } from "./helpers/pods";
import { startTestServer, type TestServer } from "./helpers/server";
import { requirements } from "../src/machinery/test-requirements";

// Each test waits on real processes (and containers); no timing is asserted.
setDefaultTimeout(90_000);

const PYTHON = "/usr/bin/python3";
const SCRIPT = join(import.meta.dir, "helpers", "python-client.py");

/** Why the Python client cannot run here, or undefined when it can. CI installs it, so there a missing one fails. */
function pythonClientMissing(): string | undefined {
  let why: string | undefined;
  try {
    const r = Bun.spawnSync([PYTHON, "-c", "import kubernetes"], { stdout: "ignore", stderr: "pipe" });
    if (r.exitCode !== 0) why = `${PYTHON} cannot import kubernetes: ${r.stderr.toString().trim().split("\n").at(-1)}`;
  } catch (e) {
    why = `${PYTHON} cannot run: ${(e as Error).message}`;
  }
  return requirements("the Python client tests", why && `${why} (apt-get install python3-kubernetes)`);
}

const noPython = pythonClientMissing();
const docker = await dockerForTests("Python client exec and logs");
const NS = `py-${Date.now().toString(36)}`;
let s: TestServer;

beforeAll(async () => {
  s = docker ? await startServerWithNode(docker) : await startTestServer();
  expect((await s.kubectl("create", "namespace", NS)).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await s?.cleanup();
  if (docker) await removePodsOf(docker, NS);
});

interface PythonRun {
  output(): string;
  waitFor(what: string, predicate: (out: string) => boolean): Promise<string>;
  /** Resolves to 0 once the script is done; rejects with its output if it failed. */
  finished(): Promise<number>;
  stop(): Promise<void>;
}

/** The script with `action` against this server, its output collected as it is flushed. */
function python(action: string, ...args: string[]): PythonRun {
  const p: Subprocess<"ignore", "pipe", "pipe"> = Bun.spawn([PYTHON, SCRIPT, s.kubeconfig, action, ...args], { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const timer = setTimeout(() => p.kill("SIGKILL"), 80_000);
  let out = "";
  let err = "";
  const decoder = new TextDecoder();
  const read = async (stream: ReadableStream<Uint8Array>, sink: (t: string) => void) => {
    for await (const chunk of stream) sink(decoder.decode(chunk, { stream: true }));
  };
  const done = Promise.all([read(p.stdout, (t) => (out += t)), read(p.stderr, (t) => (err += t))]);
  const context = () => `python ${action} ${args.join(" ")}\nstdout:\n${out}\nstderr:\n${err}`;
  return {
    output: () => out,
    async waitFor(what, predicate) {
      const deadline = Date.now() + 60_000;
      while (!predicate(out)) {
        // A script that ended cannot print more: say so now rather than at the deadline.
        if (p.exitCode !== null || p.signalCode !== null) {
          await done;
          if (predicate(out)) break;
          throw new Error(`the script ended (${p.signalCode ?? p.exitCode}) before ${what}\n${context()}`);
        }
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${context()}`);
        await Bun.sleep(50);
      }
      return out;
    },
    async finished() {
      const code = await p.exited;
      clearTimeout(timer);
      await done;
      if (code !== 0) throw new Error(`the script failed (${p.signalCode ?? code})\n${context()}`);
      return code;
    },
    async stop() {
      clearTimeout(timer);
      p.kill("SIGKILL");
      await p.exited;
    },
  };
}

async function runPython(action: string, ...args: string[]): Promise<any> {
  const run = python(action, ...args);
  await run.finished();
  return JSON.parse(run.output());
}

const jsonOf = (res: Response): Promise<any> => res.json();
/** Reads a streamed body until `done` holds for what arrived (or the stream ends). */
type ChunkReader = { read(): Promise<{ done: boolean; value?: Uint8Array }> };
async function readUntil(from: Response | ChunkReader, done: (text: string) => boolean): Promise<string> {
  const reader = from instanceof Response ? from.body!.getReader() : from;
  let text = "";
  while (!done(text)) {
    const { value, done: ended } = await reader.read();
    if (ended) break;
    text += new TextDecoder().decode(value, { stream: true });
  }
  return text;
}
const api = (path: string, method = "GET", body?: unknown, contentType = "application/json") =>
  s.fetch(path, { method, body: body === undefined ? undefined : JSON.stringify(body), headers: { "content-type": contentType } });

describe("boolean query parameters over HTTP read as kube-apiserver reads them", () => {
  test("watch streams for every value but 0 and false in any case (True, t, 1, yes, f, empty, bare); those list", async () => {
    const name = "bool-watch";
    const cms = `/api/v1/namespaces/${NS}/configmaps`;
    expect((await api(cms, "POST", { metadata: { name }, data: { k: "v" } })).status).toBe(201);
    const firstEvent = async (query: string) => {
      const ctl = new AbortController();
      const res = await s.fetch(`${cms}?${query}`, { signal: ctl.signal });
      expect({ query, status: res.status }).toEqual({ query, status: 200 });
      const text = await readUntil(res, (t) => t.includes("\n"));
      ctl.abort();
      const first = JSON.parse(text.slice(0, text.indexOf("\n")));
      return { query, type: first.type, name: first.object?.metadata?.name };
    };
    for (const query of ["watch=True", "watch=t", "watch=1", "watch=TRUE", "watch=yes", "watch=f", "watch=", "watch", "watch=true&allowWatchBookmarks=on"]) {
      expect(await firstEvent(query)).toEqual({ query, type: "ADDED", name });
    }
    for (const spelling of ["False", "false", "FALSE", "fAlSe", "0"]) {
      const list = await jsonOf(await api(`${cms}?watch=${spelling}`));
      expect({ spelling, kind: list.kind }).toEqual({ spelling, kind: "ConfigMapList" });
    }
    // orphanDependents=maybe is true: the object is kept for the garbage collector under the
    // orphan finalizer. orphanDependents=FALSE is false: no finalizer, the object is gone at once.
    const orphan = await api(`${cms}/${name}?orphanDependents=maybe`, "DELETE");
    expect(orphan.status).toBe(200);
    const orphaned = await jsonOf(orphan);
    expect(orphaned.metadata.finalizers).toContain("orphan");
    expect(orphaned.metadata.deletionTimestamp).toBeString();
    expect((await api(cms, "POST", { metadata: { name: "bool-plain" } })).status).toBe(201);
    const plain = await api(`${cms}/bool-plain?orphanDependents=FALSE`, "DELETE");
    expect(plain.status).toBe(200);
    expect((await jsonOf(plain)).metadata.finalizers ?? []).not.toContain("orphan");
    expect((await api(`${cms}/bool-plain`)).status).toBe(404);
  });

  test("discovery answers with a trailing slash, as kube-apiserver does", async () => {
    for (const [path, kind] of [["/version/", undefined], ["/api/", "APIVersions"], ["/apis/", "APIGroupList"], ["/api/v1/", "APIResourceList"], ["/apis/apps/", "APIGroup"], ["/apis/apps/v1/", "APIResourceList"]] as const) {
      const res = await api(path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
      const body = await jsonOf(res);
      if (kind) expect(body.kind).toBe(kind);
      else expect(body.gitVersion).toMatch(/^v1\.\d+\.\d+/);
    }
  });
});

describe.skipIf(!!noPython)("Debian's python3-kubernetes", () => {
  test("VersionApi().get_code()", async () => {
    const v = await runPython("version");
    expect(v.major).toBe("1");
    expect(v.git_version).toMatch(/^v1\.\d+\.\d+/);
    expect(v.platform).toMatch(/^linux\//);
  });

  test("Watch().stream(list_namespaced_config_map) receives ADDED, MODIFIED and DELETED while objects change", async () => {
    const cms = `/api/v1/namespaces/${NS}/configmaps`;
    const labels = { watched: "yes" };
    expect((await api(cms, "POST", { metadata: { name: "w-a", labels }, data: { n: "1" } })).status).toBe(201);
    const w = python("watch", NS, "watched=yes", "w-a");
    try {
      // Each change is made only after the client printed the event before it: a list answered
      // instead of a stream could not show them.
      await w.waitFor("the initial ADDED", (o) => o.includes("ADDED w-a"));
      expect((await api(`${cms}/w-a`, "PATCH", { data: { n: "2" } }, "application/merge-patch+json")).status).toBe(200);
      await w.waitFor("MODIFIED", (o) => o.includes("MODIFIED w-a"));
      expect((await api(cms, "POST", { metadata: { name: "w-b", labels }, data: { m: "1" } })).status).toBe(201);
      await w.waitFor("ADDED w-b", (o) => o.includes("ADDED w-b"));
      expect((await api(`${cms}/w-a`, "DELETE")).status).toBe(200);
      expect(await w.finished()).toBe(0);
    } finally {
      await w.stop();
    }
    expect(w.output().trim().split("\n")).toEqual(['ADDED w-a {"n": "1"}', 'MODIFIED w-a {"n": "2"}', 'ADDED w-b {"m": "1"}', 'DELETED w-a {"n": "2"}']);
  });

  describe.skipIf(!docker)("on a node", () => {
    beforeAll(async () => {
      const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "py" }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "main", ...servingContainer("echo started") }] } };
      expect((await s.kubectlWith({ stdin: JSON.stringify(pod) }, "-n", NS, "create", "-f", "-")).stderr).toBe("");
      await eventually("pod py running", async () => (await jsonOf(await api(`/api/v1/namespaces/${NS}/pods/py`))).status?.phase === "Running", { timeoutMs: 60_000, intervalMs: 250, context: () => s.log.slice(-5000) });
    }, 90_000);

    test("stream(connect_get_namespaced_pod_exec) returns stdout, stderr and the exit code", async () => {
      expect(await runPython("exec", NS, "py", "main", "sh", "-c", "echo hi; echo oops >&2; exit 3")).toEqual({ stdout: "hi\n", stderr: "oops\n", returncode: 3 });
      expect(await runPython("exec", NS, "py", "main", "echo", "fine")).toEqual({ stdout: "fine\n", stderr: "", returncode: 0 });
    });

    test("read_namespaced_pod_log(follow=True) streams lines written after it started", async () => {
      const logs = python("logs", NS, "py", "main");
      try {
        await logs.waitFor("the log so far", (o) => o.includes("started\n"));
        // Written to PID 1's stdout, i.e. into the container's log, while the client follows.
        expect(await runPython("exec", NS, "py", "main", "sh", "-c", "echo fresh-line > /proc/1/fd/1")).toMatchObject({ returncode: 0 });
        expect(await logs.waitFor("the line written while following", (o) => o.includes("fresh-line"))).toBe("started\nfresh-line\n");
      } finally {
        await logs.stop();
      }
    });

    test("exec's and logs' flags read as kube-apiserver reads them: stdout=yes is stdout, follow=please follows", async () => {
      // stdout=yes is on, so only the missing WebSocket upgrade stops this exec.
      const exec = await api(`/api/v1/namespaces/${NS}/pods/py/exec?command=true&stdout=yes&container=main`, "POST");
      expect(exec.status).toBe(400);
      expect((await jsonOf(exec)).message).toContain("WebSocket");
      const off = await api(`/api/v1/namespaces/${NS}/pods/py/exec?command=true&stdout=False&stderr=0&container=main`, "POST");
      expect(off.status).toBe(400);
      expect((await jsonOf(off)).message).toBe("you must specify at least 1 of stdin, stdout, stderr");
      // follow=please follows: a line written after the log so far arrives on the same response.
      const logPath = `/api/v1/namespaces/${NS}/pods/py/log`;
      const before = await (await api(`${logPath}?timestamps=False&previous=0&follow=FALSE`)).text();
      expect(before).toStartWith("started\n");
      const ctl = new AbortController();
      try {
        const follow = await s.fetch(`${logPath}?follow=please`, { signal: ctl.signal });
        expect(follow.status).toBe(200);
        const reader = follow.body!.getReader();
        expect(await readUntil(reader, (t) => t.length >= before.length)).toBe(before);
        expect(await runPython("exec", NS, "py", "main", "sh", "-c", "echo please-line > /proc/1/fd/1")).toMatchObject({ returncode: 0 });
        expect(await readUntil(reader, (t) => t.includes("please-line\n"))).toBe("please-line\n");
      } finally {
        ctl.abort();
      }
      expect(await (await api(`${logPath}?timestamps=0&previous=false`)).text()).toBe(`${before}please-line\n`);
    });
  });
});
