// The Engine API client against stand-in engines on unix sockets this test makes: plain calls
// and their errors (Bun.serve), and a hijacked exec connection (Bun.listen speaking raw HTTP/1.1).
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DockerApiError, DockerEngine, StreamDemuxer, demuxAll, queryString, readProgress } from "./engine";

const dir = mkdtempSync(join(tmpdir(), "bramble-engine-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function frameOf(stream: number, text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + payload.length);
  out[0] = stream;
  new DataView(out.buffer).setUint32(4, payload.length);
  out.set(payload, 8);
  return out;
}
const concat = (...parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
const text = (b: Uint8Array) => new TextDecoder().decode(b);

test("demuxer: frames split across chunks at every byte come out whole, by stream", () => {
  const all = concat(frameOf(1, "hello "), frameOf(2, "oops\n"), frameOf(1, ""), frameOf(1, "world\n"));
  for (let cut = 0; cut <= all.length; cut++) {
    const got: string[] = [];
    const d = new StreamDemuxer((s, p) => got.push(`${s}:${text(p)}`));
    d.push(all.subarray(0, cut));
    d.push(all.subarray(cut));
    expect(got).toEqual(["1:hello ", "2:oops\n", "1:", "1:world\n"]);
    expect(d.pending).toBe(0);
  }
  const d = new StreamDemuxer(() => undefined);
  d.push(all.subarray(0, 10));
  expect(d.pending).toBe(10);
  expect(text(demuxAll(all))).toBe("hello oops\nworld\n");
});

test("query strings: booleans as 1/0, arrays repeated, objects as JSON, undefined left out", () => {
  expect(queryString({ all: true, v: false, t: 5, skip: undefined, changes: ["ENV A=1", "CMD x"], filters: { label: ["a=b"] } })).toBe(
    `?all=1&v=0&t=5&changes=ENV+A%3D1&changes=CMD+x&filters=${encodeURIComponent('{"label":["a=b"]}').replace(/%20/g, "+")}`,
  );
  expect(queryString({})).toBe("");
});

test("plain calls: JSON both ways, accepted statuses, and engine errors with status and message", async () => {
  const socket = join(dir, "plain.sock");
  const seen: string[] = [];
  const server = Bun.serve({
    unix: socket,
    async fetch(req) {
      const url = new URL(req.url);
      seen.push(`${req.method} ${url.pathname}${url.search} ${req.headers.get("content-type") ?? ""} ${req.method === "POST" ? await req.text() : ""}`.trim());
      if (url.pathname === "/containers/create") return Response.json({ Id: "abc" }, { status: 201 });
      if (url.pathname === "/containers/abc/start") return new Response(null, { status: 304 });
      if (url.pathname === "/images/create") return new Response('{"status":"Pulling"}\n{"error":"manifest unknown","errorDetail":{}}\n');
      if (url.pathname === "/broken") return new Response("not json at all", { status: 500 });
      return Response.json({ message: "No such container: nope" }, { status: 404 });
    },
  });
  try {
    const engine = new DockerEngine(socket);
    expect(await engine.json("POST", "/containers/create", { query: { name: "x" }, json: { Image: "i" } })).toEqual({ Id: "abc" });
    expect(seen.at(-1)).toBe('POST /containers/create?name=x application/json {"Image":"i"}');
    expect(await engine.call("POST", "/containers/abc/start", {}, [304])).toBe(304);
    const err = await engine.json("GET", "/containers/nope/json").catch((e) => e);
    expect(err).toBeInstanceOf(DockerApiError);
    expect(err).toMatchObject({ statusCode: 404, message: "No such container: nope", path: "/containers/nope/json" });
    expect(await engine.call("GET", "/broken").catch((e) => e)).toMatchObject({ statusCode: 500, message: "not json at all" });
    // A pull answers 200 and reports its failure in the progress stream.
    const res = await engine.request("POST", "/images/create", { query: { fromImage: "x" }, body: new Uint8Array([1, 2]) });
    expect(seen.at(-1)).toStartWith("POST /images/create?fromImage=x application/x-tar");
    await expect(readProgress(res)).rejects.toThrow("manifest unknown");
  } finally {
    server.stop(true);
  }
});

/** A stand-in engine for `POST /exec/x/start`: answers 101, echoes stdin as stdout frames, and at stdin EOF says goodbye on stderr and closes. */
function fakeExecEngine(socket: string, answer?: string) {
  const requests: string[] = [];
  const listener = Bun.listen<{ upgraded: boolean }>({
    unix: socket,
    allowHalfOpen: true,
    socket: {
      open(s) {
        s.data = { upgraded: false };
      },
      data(s, chunk) {
        if (!s.data.upgraded) {
          requests.push(chunk.toString());
          if (answer) return void s.end(answer);
          s.data.upgraded = true;
          s.write("HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n");
          // Output the engine sends in the same packet as the headers must not be lost.
          s.write(frameOf(1, "ready\n"));
          return;
        }
        s.write(frameOf(1, chunk.toString().toUpperCase()));
      },
      end(s) {
        s.write(frameOf(2, "bye\n"));
        s.end();
      },
    },
  });
  return { requests, stop: () => listener.stop(true) };
}

test("hijacked connection: the request upgrades, stdin goes out, output comes back, half-close ends it", async () => {
  const socket = join(dir, "exec.sock");
  const fake = fakeExecEngine(socket);
  try {
    const conn = await new DockerEngine(socket).hijack("/exec/x/start", { Detach: false, Tty: false });
    expect(fake.requests[0]).toStartWith("POST /exec/x/start HTTP/1.1\r\n");
    expect(fake.requests[0]).toContain("Upgrade: tcp\r\n");
    expect(fake.requests[0]).toEndWith('\r\n\r\n{"Detach":false,"Tty":false}');
    const out: string[] = [];
    const ended = new Promise<void>((resolve) => {
      const d = new StreamDemuxer((s, p) => out.push(`${s}:${text(p)}`));
      conn.listen({ data: (c) => d.push(c), end: () => resolve() });
    });
    conn.write(new TextEncoder().encode("abc\n"));
    await Bun.sleep(50);
    conn.closeWrite();
    await ended;
    expect(out).toEqual(["1:ready\n", "1:ABC\n", "2:bye\n"]);
  } finally {
    fake.stop();
  }
});

test("hijacked connection: an error answer rejects with the engine's status and message", async () => {
  const socket = join(dir, "exec-error.sock");
  const body = '{"message":"Container abc is not running"}';
  const fake = fakeExecEngine(socket, `HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  try {
    const err = await new DockerEngine(socket).hijack("/exec/x/start", {}).catch((e) => e);
    expect(err).toBeInstanceOf(DockerApiError);
    expect(err).toMatchObject({ statusCode: 409, message: "Container abc is not running" });
  } finally {
    fake.stop();
  }
});

test("no engine on the socket: calls fail with the connection error", async () => {
  const engine = new DockerEngine(join(dir, "absent.sock"));
  await expect(engine.json("GET", "/version")).rejects.toThrow();
  await expect(engine.hijack("/exec/x/start", {})).rejects.toThrow();
});
