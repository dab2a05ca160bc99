import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { statfs } from "node:fs/promises";
import { Readable } from "node:stream";
import { ensureTestImage } from "../../images/testimage";
import { runtimeContract } from "../contract";
import { LABELS, NotFoundError } from "../runtime";
import { dockerForTests, removeImageIfUnused } from "./testing";

const engine = await dockerForTests("Docker runtime contract");
runtimeContract(
  "docker",
  async () => {
    const runtime = engine!;
    const image = await ensureTestImage(runtime);
    return { runtime, image, cleanup: () => removeImageIfUnused(runtime, image) };
  },
  engine ? undefined : "no Docker engine",
);

// What only the real engine does: the hijacked exec connection (stdin, TTY, stderr apart),
// followed logs, image archives and failing pulls, as kubectl exec/logs and the kubelet use them.
const rt = await dockerForTests("Docker runtime streams");
/** Containers start slowly on a busy shared engine. */
const SLOW = 30_000;
const run = `h7${Date.now().toString(36)}`;
const label = "io.bramble.docker-test";
let image = "";
let n = 0;

async function running(cmd: string[], tty = false, io: { stdin?: boolean; stdinOnce?: boolean } = {}): Promise<string> {
  const id = await rt!.createContainer({ name: `bramble-dockertest-${run}-${n++}`, image, cmd, tty, ...io, labels: { [label]: run, [LABELS.managed]: "true" } });
  await rt!.startContainer(id);
  return id;
}

function collect(stream: Readable | undefined): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    if (!stream) return resolve("");
    stream.on("data", (d: Uint8Array) => (text += Buffer.from(d).toString()));
    stream.once("end", () => resolve(text));
    stream.once("error", reject);
  });
}

describe.skipIf(!rt)("Docker runtime: streams", () => {
  beforeAll(async () => {
    image = await ensureTestImage(rt!);
  }, SLOW);
  afterAll(async () => {
    for (const c of await rt!.listContainers({ [label]: run })) await rt!.removeContainer(c.id);
  }, SLOW);

  test("exec with stdin: input reaches the process, EOF ends it, stdout and stderr stay apart", async () => {
    const id = await running(["sleep", "1000"]);
    const s = await rt!.execStream(id, ["sh", "-c", "while read l; do echo got:$l; echo err:$l >&2; done; exit 7"], { stdin: true });
    const out = collect(s.stdout);
    const err = collect(s.stderr);
    s.stdin!.write("one\n");
    s.stdin!.write("two\n");
    s.stdin!.end();
    expect(await s.exitCode).toBe(7);
    expect(await out).toBe("got:one\ngot:two\n");
    expect(await err).toBe("err:one\nerr:two\n");
  }, SLOW);

  test("exec with a TTY: one raw stream, resizable, stdin echoed by the terminal", async () => {
    const id = await running(["sleep", "1000"]);
    const s = await rt!.execStream(id, ["sh"], { stdin: true, tty: true });
    expect(s.stderr).toBeUndefined();
    const out = collect(s.stdout);
    await s.resize!(33, 101);
    s.stdin!.write("stty size; exit 3\n");
    expect(await s.exitCode).toBe(3);
    expect(await out).toContain("33 101");
  }, SLOW);

  test("exec: a missing container is NotFound; a timeout gives up with -1", async () => {
    await expect(rt!.execStream(`absent-${run}`, ["true"], {})).rejects.toBeInstanceOf(NotFoundError);
    const id = await running(["sleep", "1000"]);
    const r = await rt!.exec(id, ["sh", "-c", "echo started; sleep 30"], { timeoutMs: 500 });
    expect(r).toMatchObject({ exitCode: -1, stdout: "started\n" });
  }, SLOW);

  test("attach to a TTY container: one raw stream whatever the caller asks, resizable, ends when the process does", async () => {
    const id = await running(["sh"], true, { stdin: true });
    const s = await rt!.attachStream(id, { stdin: true, stdout: true, stderr: true });
    expect(s.tty).toBe(true);
    expect(s.stderr).toBeUndefined();
    const out = collect(s.stdout);
    await s.resize!(31, 97);
    s.stdin!.write("stty size; exit 5\n");
    await s.ended;
    expect(await out).toContain("31 97");
    for (let i = 0; i < 100 && (await rt!.inspectContainer(id)).state !== "exited"; i++) await Bun.sleep(50);
    expect((await rt!.inspectContainer(id)).exitCode).toBe(5);
  }, SLOW);

  test("attach: stdout and stderr stay apart; stdinOnce ends the process with the attach's stdin", async () => {
    const id = await running(["sh", "-c", "while read l; do echo out:$l; echo err:$l >&2; done; echo bye"], false, { stdin: true, stdinOnce: true });
    const s = await rt!.attachStream(id, { stdin: true, stdout: true, stderr: true });
    const out = collect(s.stdout);
    const err = collect(s.stderr);
    s.stdin!.write("a\n");
    s.stdin!.end();
    await s.ended;
    expect(await out).toBe("out:a\nbye\n");
    expect(await err).toBe("err:a\n");
    for (let i = 0; i < 100 && (await rt!.inspectContainer(id)).state !== "exited"; i++) await Bun.sleep(50);
    expect((await rt!.inspectContainer(id)).exitCode).toBe(0);
  }, SLOW);

  test("attach: dropping the connection leaves a container without stdinOnce running, reattachable", async () => {
    const id = await running(["cat"], false, { stdin: true });
    const first = await rt!.attachStream(id, { stdin: true, stdout: true });
    first.stdout.destroy();
    await first.ended;
    expect((await rt!.inspectContainer(id)).state).toBe("running");
    const again = await rt!.attachStream(id, { stdin: true, stdout: true });
    let out = "";
    again.stdout.on("data", (d: Uint8Array) => (out += Buffer.from(d).toString()));
    again.stdin!.write("still here\n");
    // The engine ends an attach's output as soon as its stdin ends: wait for the echo first.
    for (let i = 0; i < 200 && !out; i++) await Bun.sleep(50);
    again.stdin!.end();
    await again.ended;
    expect(out).toBe("still here\n");
  }, SLOW);

  test("logs: followed as written, tail and stderr included, destroying the stream lets go", async () => {
    // The engine copies stdout and stderr separately: only a pause between them fixes their order.
    const id = await running(["sh", "-c", "echo a; sleep 0.2; echo b >&2; sleep 0.2; echo c; sleep 1; echo d; sleep 1000"]);
    for (let i = 0; i < 100 && !(await collect(await rt!.logs(id, {}))).includes("c\n"); i++) await Bun.sleep(50);
    const tail = await collect(await rt!.logs(id, { tail: 1 }));
    expect(tail).toBe("c\n");
    const follow = await rt!.logs(id, { follow: true });
    let text = "";
    await new Promise<void>((resolve) =>
      follow.on("data", (d: Uint8Array) => {
        text += Buffer.from(d).toString();
        if (text.includes("d\n")) resolve();
      }),
    );
    expect(text).toBe("a\nb\nc\nd\n");
    const closed = new Promise((resolve) => follow.once("close", resolve));
    follow.destroy();
    await closed;
    const tty = await running(["sh", "-c", "echo on-a-tty"], true);
    for (let i = 0; i < 100 && (await rt!.inspectContainer(tty)).state !== "exited"; i++) await Bun.sleep(50);
    expect(await collect(await rt!.logs(tty, {}))).toBe("on-a-tty\r\n");
    await expect(rt!.logs(`absent-${run}`, {})).rejects.toBeInstanceOf(NotFoundError);
  }, SLOW);

  test("images: an archive from the engine loads back, naming its tags", async () => {
    const saved = await rt!.engine.request("GET", `/images/${image}/get`);
    const archive = new Uint8Array(await saved.arrayBuffer());
    expect(await rt!.loadImage(archive)).toEqual([image]);
    // A Node stream is sent as it is read (chunked), not collected first.
    const half = archive.length >> 1;
    expect(await rt!.loadImage(Readable.from([archive.subarray(0, half), archive.subarray(half)]))).toEqual([image]);
  }, SLOW);

  test("log rotation: json-file with the given size and file count, 10Mi × 2 by default", async () => {
    const config = async (id: string) => (await rt!.engine.json<{ HostConfig: { LogConfig: unknown } }>("GET", `/containers/${id}/json`)).HostConfig.LogConfig;
    const given = await rt!.createContainer({ name: `bramble-dockertest-${run}-${n++}`, image, cmd: ["true"], labels: { [label]: run }, logs: { maxSizeBytes: 1024 * 1024, maxFiles: 3 } });
    expect(await config(given)).toEqual({ Type: "json-file", Config: { "max-size": "1048576", "max-file": "3" } });
    const plain = await rt!.createContainer({ name: `bramble-dockertest-${run}-${n++}`, image, cmd: ["true"], labels: { [label]: run } });
    expect(await config(plain)).toEqual({ Type: "json-file", Config: { "max-size": "10485760", "max-file": "2" } });
  }, SLOW);

  test("the image filesystem: the engine's data root, a directory statfs reads", async () => {
    const path = await rt!.imageFsPath();
    expect(path).toStartWith("/");
    const fs = await statfs(path!);
    expect(fs.blocks).toBeGreaterThan(0);
  }, SLOW);

  test("pulls: an unreachable registry rejects with the engine's reason", async () => {
    // Port 1 on loopback: refused at once, nothing leaves the machine.
    await expect(rt!.pullImage(`127.0.0.1:1/bramble/absent-${run}:1`)).rejects.toThrow(/127\.0\.0\.1:1/);
    await expect(rt!.pullImage(`127.0.0.1:1/bramble/absent-${run}:1`, { username: "u", password: "p", serveraddress: "127.0.0.1:1" })).rejects.toThrow(/127\.0\.0\.1:1/);
  }, SLOW);
});

