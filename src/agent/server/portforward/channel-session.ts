// Port-forward over the channel protocol (subprotocol v4.channel.k8s.io), what the Python client
// and other WebSocket clients speak, as upstream's kubelet serves it: the ports come in the URL
// (`ports=8080,9090`), each gets one connection for the session's life on two channels, data
// 2i and error 2i+1, each opened by the port as two little-endian bytes. A failure is written
// on the port's error channel; the session ends once every port's connection has ended.
import type { ServerWebSocket, Socket } from "bun";
import type { Logger } from "../../../machinery/log";
import { frame, parseFrame } from "../channel";
import type { PodConnector } from "./session";

interface Port {
  port: number;
  socket?: Socket<unknown>;
  pending: Uint8Array[];
  done: boolean;
}

export class ChannelPortForwardSession {
  private ws?: ServerWebSocket<unknown>;
  private readonly ports: Port[];
  private closed = false;
  private readonly paused = new Set<Socket<unknown>>();

  constructor(
    private readonly connect: PodConnector,
    private readonly describe: () => string,
    ports: number[],
    private readonly log: Logger,
  ) {
    this.ports = ports.map((port) => ({ port, pending: [], done: false }));
  }

  open(ws: ServerWebSocket<unknown>) {
    this.ws = ws;
    this.ports.forEach((p, i) => {
      const id = new Uint8Array([p.port & 0xff, p.port >> 8]);
      ws.send(frame(2 * i, id));
      ws.send(frame(2 * i + 1, id));
    });
    this.ports.forEach((p, i) => this.dial(p, i));
  }

  message(data: string | Uint8Array) {
    const f = parseFrame(data);
    if (!f || this.closed) return;
    const p = f.channel % 2 === 0 ? this.ports[f.channel / 2] : undefined;
    if (!p || p.done || !f.data.length) return;
    p.pending.push(f.data.slice());
    if (p.socket) this.flush(p, p.socket);
  }

  drain() {
    for (const s of this.paused) s.resume();
    this.paused.clear();
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.ports) {
      p.done = true;
      p.pending.length = 0;
      p.socket?.terminate();
      p.socket = undefined;
    }
    this.paused.clear();
  }

  private dial(p: Port, i: number) {
    const session = this;
    const adopt = (s: Socket<unknown>) => {
      if (!p.done && !p.socket) p.socket = s;
    };
    this.connect(p.port, {
      open: adopt,
      data(s, chunk) {
        adopt(s);
        if (p.done || session.closed) return;
        if (session.ws?.send(frame(2 * i, chunk)) === -1) {
          s.pause();
          session.paused.add(s);
        }
      },
      drain: (s) => this.flush(p, s),
      // The pod ended its side: the port's connection is over (there is no half-close on a channel).
      end: () => this.finish(p),
      close: () => this.finish(p),
      error: (_s, e) => this.log.debug("port-forward connection failed", { port: p.port, error: e.message }),
    }).then(
      (socket) => {
        if (p.done || this.closed) return socket.terminate();
        adopt(socket);
        this.flush(p, socket);
      },
      (e) => {
        this.ws?.send(frame(2 * i + 1, `error forwarding port ${p.port} to pod ${this.describe()}: ${(e as Error).message}`));
        this.finish(p);
      },
    );
  }

  private flush(p: Port, socket: Socket<unknown>) {
    while (p.pending.length) {
      const chunk = p.pending[0]!;
      const n = socket.write(chunk);
      if (n < 0) return void (p.pending.length = 0);
      if (n < chunk.length) {
        p.pending[0] = chunk.subarray(n);
        this.ws?.pause(); // the pod reads slower than the client sends: stop reading the client
        return;
      }
      p.pending.shift();
    }
    if (this.ports.every((q) => !q.pending.length)) this.ws?.resume();
  }

  /** A port's connection ended (or never came): once all have, so does the session, as upstream's. */
  private finish(p: Port) {
    if (p.done) return;
    p.done = true;
    const socket = p.socket;
    p.socket = undefined;
    p.pending.length = 0;
    this.paused.delete(socket!);
    socket?.end();
    if (this.ports.every((q) => q.done) && !this.closed) {
      this.closed = true;
      this.ws?.close(1000, "");
    }
  }
}
