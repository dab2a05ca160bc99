// One `kubectl port-forward` session on the agent: SPDY streams over a WebSocket on one side,
// TCP connections inside the pod's network namespace on the other. As with upstream's kubelet,
// every local connection kubectl accepts opens two streams carrying the same `requestid` and
// `port` headers: an error stream (kubectl half-closes it at once and reads it to the end) and
// a data stream. Once both are there, the pair gets its own connection to localhost:port in the
// pod; a failure is written on the pair's error stream, which ends only that pair, never the
// session. Closing the session (either side) closes every connection and timer it owns.
import type { ServerWebSocket, Socket, SocketHandler } from "bun";
import type { Logger } from "../../../machinery/log";
import { CONTROL, dataFrame, FLAG_FIN, FrameParser, goAwayFrame, HeaderDecoder, HeaderEncoder, readU31, rstStreamFrame, RST, synReplyFrame, type Frame, type Headers } from "./spdy";

/**
 * Opens the pod-side connection for one pair with the session's handlers; rejects with the
 * message the pair's error stream then carries.
 */
export type PodConnector = (port: number, handlers: SocketHandler<unknown>) => Promise<Socket<unknown>>;

/** As upstream's kubelet: a pair whose second stream does not come within this is dropped. */
const PAIR_TIMEOUT_MS = 30_000;

interface Stream {
  id: number;
  kind: "data" | "error";
  requestId: string;
  /** The client sent FIN. */
  remoteDone: boolean;
  /** We sent FIN or RST. */
  localDone: boolean;
}

interface Pair {
  requestId: string;
  port: number;
  data?: Stream;
  error?: Stream;
  timer?: ReturnType<typeof setTimeout>;
  socket?: Socket<unknown>;
  /** Client bytes waiting for the pod socket (before it is open, or while it is full). */
  pending: Uint8Array[];
  /** The client ended its side: shut the socket's write half once pending is flushed. */
  endAfterPending: boolean;
  shutDown: boolean;
  closed: boolean;
}

export class PortForwardSession {
  private ws?: ServerWebSocket<unknown>;
  private readonly parser = new FrameParser();
  private readonly decoder = new HeaderDecoder();
  private readonly encoder = new HeaderEncoder();
  private readonly streams = new Map<number, Stream>();
  private readonly pairs = new Map<string, Pair>();
  private readonly pausedSockets = new Set<Socket<unknown>>();
  private lastStreamId = 0;
  private closed = false;
  private wsPaused = false;

  constructor(
    private readonly connect: PodConnector,
    private readonly describe: (port: number) => string,
    private readonly log: Logger,
  ) {}

  open(ws: ServerWebSocket<unknown>) {
    this.ws = ws;
  }

  message(data: string | Uint8Array) {
    if (this.closed || typeof data === "string") return;
    let frames: Frame[];
    try {
      frames = this.parser.push(data);
    } catch (e) {
      return this.fail(`bad SPDY data: ${(e as Error).message}`);
    }
    for (const f of frames) {
      if (this.closed) return;
      try {
        if (f.control) this.control(f.type, f.flags, f.payload);
        else this.data(f.streamId, f.flags, f.data);
      } catch (e) {
        return this.fail(`bad SPDY frame: ${(e as Error).message}`);
      }
    }
  }

  /** The WebSocket can take more: pod sockets paused for it read again. */
  drain() {
    for (const s of this.pausedSockets) s.resume();
    this.pausedSockets.clear();
  }

  /** The client (or the API server's tunnel) went away: release everything. */
  close() {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pairs.values()) this.release(p);
    this.pairs.clear();
    this.streams.clear();
    this.pausedSockets.clear();
  }

  /** Counts for tests and diagnostics. */
  get openConnections(): number {
    let n = 0;
    for (const p of this.pairs.values()) if (p.socket) n++;
    return n;
  }

  private control(type: number, flags: number, payload: Uint8Array) {
    switch (type) {
      case CONTROL.synStream:
        return this.synStream(readU31(payload, 0), flags, this.decoder.decode(payload.subarray(10)));
      case CONTROL.rstStream:
        return this.reset(readU31(payload, 0));
      case CONTROL.ping:
        // Client pings have odd ids; answering with the same frame is the pong.
        return this.send(new Uint8Array([0x80, 3, 0, CONTROL.ping, 0, 0, 0, 4, ...payload.subarray(0, 4)]));
      case CONTROL.goAway:
        return this.shutdown();
      case CONTROL.headers:
        this.decoder.decode(payload.subarray(4)); // keeps the zlib window in step; nothing to act on
        return;
      default:
        return; // SETTINGS, WINDOW_UPDATE: flow control is not enforced (see spdy.ts)
    }
  }

  private synStream(id: number, flags: number, headers: Headers) {
    const one = (k: string) => headers.get(k)?.[0] ?? "";
    if (id <= this.lastStreamId || id % 2 === 0) return this.send(rstStreamFrame(id, RST.protocolError));
    this.lastStreamId = id;
    const kind = one("streamtype");
    const requestId = one("requestid");
    const portText = one("port");
    if ((kind !== "data" && kind !== "error") || !requestId) return this.send(rstStreamFrame(id, RST.protocolError));
    const stream: Stream = { id, kind, requestId, remoteDone: (flags & FLAG_FIN) !== 0, localDone: false };
    const existing = this.pairs.get(requestId);
    if (existing?.[kind]) return this.send(rstStreamFrame(id, RST.protocolError));
    this.streams.set(id, stream);
    this.send(synReplyFrame(id, this.encoder.encode()));

    const port = Number(portText);
    const pair = existing ?? { requestId, port, pending: [], endAfterPending: false, shutDown: false, closed: false };
    pair[kind] = stream;
    if (!existing) {
      this.pairs.set(requestId, pair);
      pair.timer = setTimeout(() => this.finishPair(pair, `timed out waiting for the second stream of request ${requestId}`), PAIR_TIMEOUT_MS);
    }
    if (!pair.data || !pair.error) return;
    clearTimeout(pair.timer);
    pair.timer = undefined;
    if (!/^\d+$/.test(portText) || port < 1 || port > 65535) return this.finishPair(pair, `invalid port header "${portText}"`);
    if (pair.port !== port) return this.finishPair(pair, `the data and error streams of request ${requestId} name different ports`);
    this.dial(pair);
  }

  private dial(pair: Pair) {
    const session = this;
    // Events can come before connect() resolves (a pod that speaks first): each handler adopts
    // its socket.
    const adopt = (s: Socket<unknown>) => {
      if (!pair.closed && !session.closed && !pair.socket) pair.socket = s;
    };
    this.connect(pair.port, {
      open: adopt,
      data(s, chunk) {
        adopt(s);
        session.fromPod(pair, s, chunk);
      },
      drain(s) {
        session.flushPending(pair, s);
      },
      end(s) {
        adopt(s);
        // The pod closed its side: FIN the data stream; the pair ends once the client is done too.
        session.finishData(pair);
      },
      close() {
        pair.socket = undefined;
        session.finishPair(pair);
      },
      error(_s, e) {
        session.log.debug("port-forward connection failed", { port: pair.port, error: e.message });
      },
    }).then(
      (socket) => {
        if (pair.closed || this.closed) return socket.terminate();
        adopt(socket);
        this.flushPending(pair, socket);
      },
      (e) => this.finishPair(pair, `error forwarding port ${pair.port} to pod ${this.describe(pair.port)}: ${(e as Error).message}`),
    );
  }

  private data(id: number, flags: number, bytes: Uint8Array) {
    const stream = this.streams.get(id);
    if (!stream) return this.send(rstStreamFrame(id, RST.invalidStream));
    const pair = this.pairs.get(stream.requestId);
    const fin = (flags & FLAG_FIN) !== 0;
    if (fin) stream.remoteDone = true;
    if (!pair || stream.kind !== "data") return; // kubectl writes nothing on error streams
    if (bytes.length) pair.pending.push(bytes.slice());
    if (fin) pair.endAfterPending = true;
    if (pair.socket) this.flushPending(pair, pair.socket);
  }

  /** Writes what the client sent, as far as the socket takes it; pauses the WebSocket when it is full. */
  private flushPending(pair: Pair, socket: Socket<unknown>) {
    while (pair.pending.length) {
      const chunk = pair.pending[0]!;
      const n = socket.write(chunk);
      if (n < 0) {
        pair.pending.length = 0;
        break;
      }
      if (n < chunk.length) {
        pair.pending[0] = chunk.subarray(n);
        if (!this.wsPaused) {
          this.wsPaused = true;
          this.ws?.pause();
        }
        return;
      }
      pair.pending.shift();
    }
    if (pair.endAfterPending && !pair.shutDown) {
      pair.shutDown = true;
      socket.shutdown();
    }
    // Both sides said they are done and nothing is left to write: the pair is over.
    if (pair.shutDown && pair.data?.localDone) return this.finishPair(pair);
    if (this.wsPaused && ![...this.pairs.values()].some((p) => p.pending.length)) {
      this.wsPaused = false;
      this.ws?.resume();
    }
  }

  private fromPod(pair: Pair, socket: Socket<unknown>, chunk: Uint8Array) {
    if (!pair.data || pair.data.localDone || pair.closed) return;
    if (this.send(dataFrame(pair.data.id, chunk)) === -1) {
      socket.pause();
      this.pausedSockets.add(socket);
    }
  }

  private finishData(pair: Pair) {
    const d = pair.data;
    if (!d || d.localDone) return;
    d.localDone = true;
    this.send(dataFrame(d.id, new Uint8Array(0), true));
    if (pair.shutDown) this.finishPair(pair);
  }

  /** The client reset a stream (kubectl resets the data stream once its copy is done). */
  private reset(id: number) {
    const stream = this.streams.get(id);
    if (!stream) return;
    stream.remoteDone = true;
    stream.localDone = true;
    const pair = this.pairs.get(stream.requestId);
    if (pair && stream.kind === "data") this.finishPair(pair);
    else this.streams.delete(id);
  }

  /**
   * Ends a pair: the error (if any) on its error stream, FIN on both streams, the pod connection
   * closed. Idempotent; the session goes on.
   */
  private finishPair(pair: Pair, error?: string) {
    if (pair.closed) return;
    if (error) this.log.debug("port-forward request failed", { requestId: pair.requestId, error });
    pair.closed = true;
    this.release(pair);
    for (const s of [pair.error, pair.data]) {
      if (!s) continue;
      if (!s.localDone) {
        if (s === pair.error && error) this.send(dataFrame(s.id, new TextEncoder().encode(error)));
        this.send(dataFrame(s.id, new Uint8Array(0), true));
        s.localDone = true;
      }
      this.streams.delete(s.id);
    }
    this.pairs.delete(pair.requestId);
    if (this.wsPaused && ![...this.pairs.values()].some((p) => p.pending.length)) {
      this.wsPaused = false;
      this.ws?.resume();
    }
  }

  private release(pair: Pair) {
    clearTimeout(pair.timer);
    pair.timer = undefined;
    pair.pending.length = 0;
    if (pair.socket) {
      this.pausedSockets.delete(pair.socket);
      const s = pair.socket;
      pair.socket = undefined;
      // A clean close when the client finished normally; a reset otherwise, so nothing lingers.
      if (pair.data?.remoteDone) s.end();
      else s.terminate();
    }
  }

  /** GOAWAY from the client: it opens no more streams; end the session. */
  private shutdown() {
    this.send(goAwayFrame(this.lastStreamId));
    this.close();
    this.ws?.close(1000, "");
  }

  private fail(reason: string) {
    this.log.debug("port-forward session ended", { reason });
    this.send(goAwayFrame(this.lastStreamId, 1));
    this.close();
    this.ws?.close(1002, reason.slice(0, 120));
  }

  private send(frame: Uint8Array): number {
    if (!this.ws) return 0;
    return this.ws.send(frame);
  }
}
