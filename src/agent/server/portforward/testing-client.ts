// For tests: a port-forward client speaking what kubectl speaks (SPDY/3.1 in a WebSocket with
// the subprotocol "SPDY/3.1+portforward.k8s.io", an error and a data stream per request with
// the same `requestid`), with nothing kubectl does on top: it never closes the session because
// one request failed, so tests can check that the server does not either.
import { PORT_FORWARD_SUBPROTOCOL } from "../../../api/kubelet-api";
import { CONTROL, dataFrame, FLAG_FIN, FrameParser, HeaderEncoder, readU31, synStreamFrame, type Frame } from "./spdy";

export interface ForwardResult {
  /** What the pod sent on the data stream until it ended. */
  data: Buffer;
  /** What the error stream carried ("" when the request went through). */
  error: string;
  /** The data stream ended with RST_STREAM rather than FIN. */
  reset: boolean;
}

interface Pending {
  chunks: Uint8Array[];
  error: Uint8Array[];
  dataDone: boolean;
  errorDone: boolean;
  reset: boolean;
  resolve(r: ForwardResult): void;
}

export class PortForwardTestClient {
  private readonly parser = new FrameParser();
  private readonly encoder = new HeaderEncoder();
  private nextStreamId = 1;
  private nextRequestId = 0;
  private readonly byStream = new Map<number, { p: Pending; kind: "data" | "error" }>();
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(private readonly ws: WebSocket) {
    ws.binaryType = "arraybuffer";
    ws.addEventListener("message", (e) => {
      if (typeof e.data === "string") return;
      for (const f of this.parser.push(new Uint8Array(e.data as ArrayBuffer))) this.frame(f);
    });
    this.closed = new Promise((resolve) => ws.addEventListener("close", (e) => resolve({ code: e.code, reason: e.reason }), { once: true }));
  }

  /** Opens the session; rejects with the HTTP error when the upgrade is refused. */
  static connect(url: string, init: { headers?: Record<string, string>; ca?: string } = {}): Promise<PortForwardTestClient> {
    return new Promise((resolve, reject) => {
      // As a header: Bun's client refuses protocol names that are not RFC 6455 tokens.
      const ws = new WebSocket(url, { headers: { ...init.headers, "Sec-WebSocket-Protocol": PORT_FORWARD_SUBPROTOCOL }, tls: init.ca ? { ca: init.ca } : undefined });
      ws.addEventListener("open", () => resolve(new PortForwardTestClient(ws)), { once: true });
      ws.addEventListener("error", (e) => reject(new Error((e as ErrorEvent).message || "the WebSocket failed")), { once: true });
    });
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * One forwarded connection: sends `payload`, then (unless `keepOpen`) half-closes, and
   * resolves once the data and error streams have both ended.
   */
  forward(port: number, payload: Uint8Array | string = "", opts: { keepOpen?: boolean } = {}): { result: Promise<ForwardResult>; send(b: Uint8Array | string): void; end(): void } {
    const requestId = String(this.nextRequestId++);
    const errorId = this.nextStreamId;
    const dataId = this.nextStreamId + 2;
    this.nextStreamId += 4;
    let resolve!: (r: ForwardResult) => void;
    const result = new Promise<ForwardResult>((r) => (resolve = r));
    const p: Pending = { chunks: [], error: [], dataDone: false, errorDone: false, reset: false, resolve };
    this.byStream.set(errorId, { p, kind: "error" });
    this.byStream.set(dataId, { p, kind: "data" });
    const headers = (type: string) => ({ streamtype: type, port: String(port), requestid: requestId });
    this.ws.send(synStreamFrame(errorId, this.encoder.encode(headers("error"))));
    this.ws.send(dataFrame(errorId, new Uint8Array(0), true)); // kubectl writes nothing on the error stream
    this.ws.send(synStreamFrame(dataId, this.encoder.encode(headers("data"))));
    const bytes = (b: Uint8Array | string) => (typeof b === "string" ? new TextEncoder().encode(b) : b);
    const send = (b: Uint8Array | string) => {
      const all = bytes(b);
      for (let off = 0; off < all.length; off += 32 * 1024) this.ws.send(dataFrame(dataId, all.subarray(off, off + 32 * 1024)));
    };
    const end = () => this.ws.send(dataFrame(dataId, new Uint8Array(0), true));
    if (bytes(payload).length) send(payload);
    if (!opts.keepOpen) end();
    return { result, send, end };
  }

  close() {
    this.ws.close(1000, "");
  }

  private frame(f: Frame) {
    if (!f.control) {
      const s = this.byStream.get(f.streamId);
      if (!s) return;
      (s.kind === "data" ? s.p.chunks : s.p.error).push(f.data.slice());
      if (f.flags & FLAG_FIN) this.done(f.streamId, s);
      return;
    }
    if (f.type === CONTROL.rstStream) {
      const id = readU31(f.payload, 0);
      const s = this.byStream.get(id);
      if (!s) return;
      s.p.reset = true;
      this.done(id, s);
    }
  }

  private done(id: number, s: { p: Pending; kind: "data" | "error" }) {
    this.byStream.delete(id);
    if (s.kind === "data") s.p.dataDone = true;
    else s.p.errorDone = true;
    if (!s.p.dataDone || !s.p.errorDone) return;
    s.p.resolve({ data: Buffer.concat(s.p.chunks), error: Buffer.concat(s.p.error).toString(), reset: s.p.reset });
  }
}
