// The session's stream handling against a plain TCP server on loopback (the dial into a pod's
// network namespace is swapped for a plain connect; tests/port-forward.test.ts runs the real one).
import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Server, ServerWebSocket, Socket, TCPSocketListener } from "bun";
import { createLogger } from "../../../machinery/log";
import { ChannelPortForwardSession } from "./channel-session";
import { PortForwardSession, type PodConnector } from "./session";
import { PortForwardTestClient } from "./testing-client";

const log = createLogger("port-forward-test", { level: (process.env.PF_LOG as "debug") ?? "error" });
let echo: TCPSocketListener<unknown>;
let greeter: TCPSocketListener<unknown>;
const heardByGreeter: string[] = [];
let closedPort: number;
const podSide = new Set<Socket<unknown>>();
const sessions = new Set<PortForwardSession>();
let server: Server<PortForwardSession>;
let channelServer: Server<ChannelPortForwardSession>;

const connect: PodConnector = async (port, handlers) => {
  if (port === closedPort) throw new Error(`failed to connect to localhost:${port}: connect: connection refused`);
  return Bun.connect({ hostname: "127.0.0.1", port: port === 1 ? echo.port : port === 2 ? greeter.port : port, socket: handlers, allowHalfOpen: true });
};

beforeAll(() => {
  // Echoes until the client half-closes, then says "bye" and closes.
  echo = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    allowHalfOpen: true,
    socket: {
      open: (s) => void podSide.add(s),
      data: (s, d) => void s.write(d),
      end: (s) => {
        s.write("bye");
        s.end();
      },
      close: (s) => void podSide.delete(s),
    },
  });
  // Says its piece and ends its side at once, then keeps reading (busybox `nc -l` does this).
  let heard = "";
  greeter = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    allowHalfOpen: true,
    socket: {
      open: (s) => {
        heard = "";
        s.write("greeting");
        s.shutdown();
      },
      data: (_s, d) => void (heard += d.toString()),
      // Its own side is already shut, so the client's FIN closes the connection.
      close: () => void heardByGreeter.push(heard),
    },
  });
  const probe = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  closedPort = probe.port;
  probe.stop(true);
  server = Bun.serve<PortForwardSession>({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req, srv) {
      const s = new PortForwardSession(connect, () => "web_default, uid u1", log);
      sessions.add(s);
      return srv.upgrade(req, { data: s, headers: { "Sec-WebSocket-Protocol": "SPDY/3.1+portforward.k8s.io" } }) ? undefined : new Response("no", { status: 400 });
    },
    websocket: {
      open: (ws) => ws.data.open(ws as ServerWebSocket<unknown>),
      message: (ws, m) => ws.data.message(m as Uint8Array),
      drain: (ws) => ws.data.drain(),
      close: (ws) => ws.data.close(),
    },
  });
});

afterAll(() => {
  server.stop(true);
  channelServer.stop(true);
  echo.stop(true);
  greeter.stop(true);
});

beforeAll(() => {
  channelServer = Bun.serve<ChannelPortForwardSession>({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req, srv) {
      const ports = new URL(req.url).searchParams.get("ports")!.split(",").map(Number);
      return srv.upgrade(req, { data: new ChannelPortForwardSession(connect, () => "web_default, uid u1", ports, log), headers: { "Sec-WebSocket-Protocol": "v4.channel.k8s.io" } }) ? undefined : new Response("no", { status: 400 });
    },
    websocket: {
      open: (ws) => ws.data.open(ws as ServerWebSocket<unknown>),
      message: (ws, m) => ws.data.message(m as Uint8Array),
      drain: (ws) => ws.data.drain(),
      close: (ws) => ws.data.close(),
    },
  });
});

const client = () => PortForwardTestClient.connect(`ws://127.0.0.1:${server.port}/`);

test("a request's bytes reach the pod and its answer comes back; half-close is passed on", async () => {
  const c = await client();
  const r = await c.forward(1, "hello").result;
  expect(r).toEqual({ data: Buffer.from("hellobye"), error: "", reset: false });
  c.close();
});

test("a pod that ends its side first still gets the rest of the client's bytes", async () => {
  const c = await client();
  const f = c.forward(2, "", { keepOpen: true });
  await Bun.sleep(50);
  f.send("late payload");
  f.end();
  const r = await f.result;
  expect(r.data.toString()).toBe("greeting");
  await waitFor(() => heardByGreeter.includes("late payload"));
  c.close();
});

test("a refused port fails that request on its error stream; the session goes on", async () => {
  const c = await client();
  const bad = await c.forward(closedPort, "x").result;
  expect(bad.error).toBe(`error forwarding port ${closedPort} to pod web_default, uid u1: failed to connect to localhost:${closedPort}: connect: connection refused`);
  expect(bad.data.length).toBe(0);
  expect(c.isOpen).toBe(true);
  expect((await c.forward(1, "again").result).data.toString()).toBe("againbye");
  c.close();
});

test("50 concurrent requests on one session each get their own bytes back", async () => {
  const c = await client();
  const payload = (i: number) => `request-${i}-`.repeat(1000 + i);
  const results = await Promise.all(Array.from({ length: 50 }, (_, i) => c.forward(1, payload(i)).result));
  results.forEach((r, i) => expect(r.data.toString()).toBe(payload(i) + "bye"));
  c.close();
});

test("a bad port header fails only that request", async () => {
  const c = await client();
  expect((await c.forward(0, "x").result).error).toBe('invalid port header "0"');
  expect((await c.forward(1, "ok").result).data.toString()).toBe("okbye");
  c.close();
});

test("a client that goes away mid-stream leaves no pod connection open", async () => {
  const c = await client();
  const before = podSide.size;
  const f = c.forward(1, "start", { keepOpen: true });
  await waitFor(() => podSide.size === before + 1);
  c.close();
  await waitFor(() => podSide.size === before);
  await waitFor(() => [...sessions].every((s) => s.openConnections === 0));
  void f;
});

test("garbage instead of SPDY closes the session with a protocol error", async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`, { headers: { "Sec-WebSocket-Protocol": "SPDY/3.1+portforward.k8s.io" } });
  await new Promise((r) => ws.addEventListener("open", r, { once: true }));
  const closed = new Promise<number>((r) => ws.addEventListener("close", (e) => r(e.code), { once: true }));
  ws.send(new Uint8Array([0x80, 0x02, 0, 1, 0, 0, 0, 0]));
  expect(await closed).toBe(1002);
});

async function waitFor(cond: () => boolean) {
  for (let i = 0; i < 200 && !cond(); i++) await Bun.sleep(25);
  expect(cond()).toBe(true);
}

test("channel protocol: port prefixes first, data on 2i, errors on 2i+1, the session ends when every port has", async () => {
  const ws = new WebSocket(`ws://127.0.0.1:${channelServer.port}/?ports=2,${closedPort}`, { protocols: ["v4.channel.k8s.io"] });
  ws.binaryType = "arraybuffer";
  const got: { channel: number; text: string; bytes: number[] }[] = [];
  ws.addEventListener("message", (e) => {
    const b = new Uint8Array(e.data as ArrayBuffer);
    got.push({ channel: b[0]!, text: Buffer.from(b.subarray(1)).toString(), bytes: [...b.subarray(1)] });
  });
  const closed = new Promise<number>((r) => ws.addEventListener("close", (e) => r(e.code), { once: true }));
  await new Promise((r) => ws.addEventListener("open", r, { once: true }));
  expect(await closed).toBe(1000);
  const le = (p: number) => [p & 0xff, p >> 8];
  expect(got.slice(0, 4).map((f) => [f.channel, f.bytes])).toEqual([[0, le(2)], [1, le(2)], [2, le(closedPort)], [3, le(closedPort)]]);
  expect(got.filter((f) => f.channel === 0).slice(1).map((f) => f.text).join("")).toBe("greeting");
  expect(got.filter((f) => f.channel === 3).slice(1).map((f) => f.text)).toEqual([`error forwarding port ${closedPort} to pod web_default, uid u1: failed to connect to localhost:${closedPort}: connect: connection refused`]);
});
