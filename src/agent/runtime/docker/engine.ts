// A small client for the Docker Engine API on its unix socket, in place of dockerode: dockerode
// and what it loads (docker-modem, ssh2, tar-fs) cost ~30 MB of RSS, half the agent's budget.
// Plain calls and streams (logs, pulls, image uploads) go through Bun's fetch(..., { unix });
// exec with stdin needs the connection itself (the engine "hijacks" it: HTTP/1.1 `Upgrade: tcp`,
// then raw bytes both ways), which is Bun.connect({ unix }). Paths are unversioned, as dockerode's
// were: the engine then speaks its own newest API version (Docker 20.10 = 1.41; newer engines
// refuse old pinned versions).

/** An error answer of the engine: its HTTP status and the `message` of its JSON body. */
export class DockerApiError extends Error {
  override name = "DockerApiError";
  constructor(
    readonly statusCode: number,
    message: string,
    readonly path: string,
  ) {
    super(message);
  }
}

export type QueryValue = string | number | boolean | undefined | string[] | Record<string, unknown>;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  json?: unknown;
  /** Sent as is (a tar upload): bytes or a stream. */
  body?: Uint8Array | ReadableStream<Uint8Array>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

/** Query string as the engine reads it: booleans as 1/0, arrays repeated, objects (filters) as JSON. */
export function queryString(query: Record<string, QueryValue> = {}): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) q.append(k, item);
    else if (typeof v === "object") q.set(k, JSON.stringify(v));
    else if (typeof v === "boolean") q.set(k, v ? "1" : "0");
    else q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

/** A path segment: image references keep their `/`, `:` and `@` (the engine's routes expect them raw). */
export const segment = (s: string) => encodeURI(s).replace(/[?#]/g, encodeURIComponent);

/** The engine's error text: JSON `{"message": ...}`, or whatever it sent. */
function apiError(status: number, text: string, path: string): DockerApiError {
  let message = text.trim() || `HTTP ${status}`;
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    if (typeof m === "string") message = m;
  } catch {}
  return new DockerApiError(status, message, path);
}

async function errorOf(res: Response, path: string): Promise<DockerApiError> {
  return apiError(res.status, await res.text().catch(() => ""), path);
}

export class DockerEngine {
  constructor(readonly socketPath: string) {}

  /**
   * One API call. Statuses in `accept` (besides 2xx) are returned to the caller (e.g. 304 "already
   * started"); any other non-2xx becomes a DockerApiError.
   */
  async request(method: string, path: string, opts: RequestOptions = {}, accept: number[] = []): Promise<Response> {
    const url = `http://docker${path}${queryString(opts.query)}`;
    const headers: Record<string, string> = { ...opts.headers };
    let body: RequestInit["body"];
    if (opts.json !== undefined) {
      headers["content-type"] = "application/json";
      body = JSON.stringify(opts.json);
    } else if (opts.body !== undefined) {
      headers["content-type"] ??= "application/x-tar";
      body = opts.body as RequestInit["body"];
    }
    const res = await fetch(url, { method, headers, body, unix: this.socketPath, signal: opts.signal });
    if (res.ok || accept.includes(res.status)) return res;
    throw await errorOf(res, path);
  }

  /** A call whose answer is JSON. */
  async json<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.request(method, path, opts);
    return (await res.json()) as T;
  }

  /** A call whose answer does not matter; statuses in `accept` are not errors. Returns the status. */
  async call(method: string, path: string, opts: RequestOptions = {}, accept: number[] = []): Promise<number> {
    const res = await this.request(method, path, opts, accept);
    await res.body?.cancel().catch(() => undefined);
    return res.status;
  }

  /** POSTs `json` (or nothing) to `path` and takes over the connection (exec start, attach). */
  hijack(path: string, json?: unknown): Promise<HijackedConnection> {
    return HijackedConnection.open(this.socketPath, path, json);
  }
}

/**
 * Reads a JSON-lines progress stream (pull, import, load) to its end. The engine answers 200 and
 * reports a failure later, as a line with `error`: that line rejects.
 */
export async function readProgress(res: Response): Promise<Array<Record<string, unknown>>> {
  const out: Array<Record<string, unknown>> = [];
  for (const line of (await res.text()).split(/\r?\n/)) {
    if (!line.trim()) continue;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      continue;
    }
    if (o.error) throw new Error(String(o.error));
    out.push(o);
  }
  return out;
}

export const STREAM = { stdin: 0, stdout: 1, stderr: 2 } as const;

/**
 * Docker's multiplexed stream format (logs and exec of a container without a TTY): each frame is
 * an 8-byte header — stream (0 stdin, 1 stdout, 2 stderr), three zero bytes, payload size as a
 * big-endian uint32 — then the payload. Chunks may split frames anywhere; push() keeps the rest.
 */
export class StreamDemuxer {
  private rest: Uint8Array = new Uint8Array(0);

  constructor(private readonly onFrame: (stream: number, payload: Uint8Array) => void) {}

  push(chunk: Uint8Array): void {
    let data = chunk;
    if (this.rest.length) {
      data = new Uint8Array(this.rest.length + chunk.length);
      data.set(this.rest);
      data.set(chunk, this.rest.length);
    }
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    let i = 0;
    while (data.length - i >= 8) {
      const size = view.getUint32(i + 4);
      if (data.length - i - 8 < size) break;
      // A copy: the consumer may keep it after the chunk's memory is reused.
      this.onFrame(data[i]!, data.slice(i + 8, i + 8 + size));
      i += 8 + size;
    }
    this.rest = data.slice(i);
  }

  /** Bytes of an unfinished frame (a stream that ends here was cut off). */
  get pending(): number {
    return this.rest.length;
  }
}

/** Every frame's payload, in order, regardless of stream: a buffered log's text. */
export function demuxAll(buf: Uint8Array): Uint8Array {
  const parts: Uint8Array[] = [];
  new StreamDemuxer((_, p) => parts.push(p)).push(buf);
  return Buffer.concat(parts);
}

interface Listener {
  data(chunk: Uint8Array): void;
  end(error?: Error): void;
}

const CRLF2 = Buffer.from("\r\n\r\n");

/**
 * A connection the engine has taken over after an `Upgrade: tcp` request: what it sends is the
 * process's output (multiplexed unless a TTY), what we write is its stdin. Writes the kernel does
 * not take at once are queued and flushed on drain; closeWrite() half-closes (stdin EOF) after them.
 */
export class HijackedConnection {
  private listener?: Listener;
  private early: Uint8Array[] = [];
  private ended?: { error?: Error };
  private readonly queue: Uint8Array[] = [];
  private writeClosed = false;

  private constructor(private readonly socket: Bun.Socket<undefined>) {}

  static async open(socketPath: string, path: string, json?: unknown): Promise<HijackedConnection> {
    const body = json === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(json));
    const type = json === undefined ? "" : "Content-Type: application/json\r\n";
    const head = `POST ${path} HTTP/1.1\r\nHost: docker\r\n${type}Content-Length: ${body.length}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n`;
    const request = Buffer.concat([Buffer.from(head), body]);
    let conn: HijackedConnection | undefined;
    let header: Buffer = Buffer.alloc(0);
    let failure: { status: number; body: Buffer; length?: number } | undefined;
    let settle!: { resolve(c: HijackedConnection): void; reject(e: Error): void };
    const ready = new Promise<HijackedConnection>((resolve, reject) => (settle = { resolve, reject }));
    const fail = (socket: Bun.Socket<undefined>) => {
      const f = failure!;
      settle.reject(apiError(f.status, f.body.subarray(0, f.length).toString(), path));
      socket.end();
    };

    const socket = await Bun.connect({
      unix: socketPath,
      allowHalfOpen: true,
      socket: {
        data(s, chunk) {
          if (conn) return conn.receive(chunk);
          if (failure) {
            failure.body = Buffer.concat([failure.body, chunk]);
            if (failure.length !== undefined && failure.body.length >= failure.length) fail(s);
            return;
          }
          header = Buffer.concat([header, chunk]);
          const end = header.indexOf(CRLF2);
          if (end < 0) return;
          const lines = header.subarray(0, end).toString("latin1").split("\r\n");
          const status = Number(lines[0]!.split(" ")[1]);
          const rest = header.subarray(end + 4);
          if (status === 101 || status === 200) {
            conn = new HijackedConnection(s);
            settle.resolve(conn);
            if (rest.length) conn.receive(rest);
            return;
          }
          const length = lines.find((l) => /^content-length:/i.test(l))?.split(":")[1];
          failure = { status, body: Buffer.from(rest), length: length === undefined ? undefined : Number(length) };
          if (failure.length !== undefined && failure.body.length >= failure.length) fail(s);
        },
        drain() {
          conn?.flush();
        },
        end(s) {
          // The engine closed its side: the process's output is complete.
          if (conn) conn.finish();
          else if (failure) fail(s);
          else settle.reject(new Error(`${path}: the engine closed the connection before answering`));
        },
        close() {
          if (conn) conn.finish();
          else settle.reject(new Error(`${path}: the connection to the engine closed before an answer`));
        },
        error(_s, e) {
          if (conn) conn.finish(e);
          else settle.reject(e);
        },
      },
    });
    socket.write(request);
    return ready;
  }

  /** Starts delivering output (bytes that came before are delivered first). */
  listen(l: Listener): void {
    this.listener = l;
    for (const c of this.early.splice(0)) l.data(c);
    if (this.ended) l.end(this.ended.error);
  }

  private receive(chunk: Uint8Array) {
    const copy = new Uint8Array(chunk);
    if (this.listener) this.listener.data(copy);
    else this.early.push(copy);
  }

  private finish(error?: Error) {
    if (this.ended) return;
    this.ended = { error };
    this.listener?.end(error);
    // Our side is no use any more either.
    this.socket.end();
  }

  write(data: Uint8Array): void {
    if (this.writeClosed || this.ended) return;
    if (this.queue.length) return void this.queue.push(new Uint8Array(data));
    const n = this.socket.write(data);
    if (n < data.length) this.queue.push(data.slice(Math.max(0, n)));
  }

  private flush() {
    while (this.queue.length) {
      const next = this.queue[0]!;
      const n = this.socket.write(next);
      if (n < next.length) {
        this.queue[0] = next.slice(Math.max(0, n));
        return;
      }
      this.queue.shift();
    }
    if (this.writeClosed) this.socket.shutdown();
  }

  /** End of stdin: a FIN once everything queued is written. */
  closeWrite(): void {
    if (this.writeClosed) return;
    this.writeClosed = true;
    if (!this.queue.length && !this.ended) this.socket.shutdown();
  }

  /**
   * Drops the connection at once (the engine then ends the exec's or attach's streams). Not a
   * half-close: a process that ignores its stdin must not keep the socket open after the reader left.
   */
  close(): void {
    this.socket.terminate();
  }
}
