// One `kubectl exec` (or `kubectl attach`, see attach.ts) session on the agent: a WebSocket
// speaking the channel protocol on one side, a runtime exec (Docker's hijacked attach) on the
// other. Client messages that arrive while the exec is still being created (kubectl sends its
// terminal size at once) are queued and replayed in order. The exit status goes out on the error
// channel only after stdout and stderr are fully sent, then the socket closes normally.
import type { ServerWebSocket } from "bun";
import type { Readable } from "node:stream";
import { finished } from "node:stream/promises";
import { boolQueryParam } from "../../api/bool-param";
import { ApiError, badRequest } from "../../api/errors";
import { EXEC_SUBPROTOCOLS, negotiateSubprotocol, type ExecSubprotocol } from "../../api/kubelet-api";
import type { Logger } from "../../machinery/log";
import type { ExecSession } from "../runtime/runtime";
import { CHANNEL, exitStatus, failureStatus, frame, parseFrame, parseResize, type Frame } from "./channel";

/** Which streams an exec or attach session carries. */
export interface StreamFlags {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export interface ExecParams extends StreamFlags {
  command: string[];
}

/** stdin, stdout, stderr and tty of an exec or attach query, checked as upstream does. */
export function parseStreamFlags(q: URLSearchParams): StreamFlags {
  const p = { stdin: boolQueryParam(q, "stdin"), stdout: boolQueryParam(q, "stdout"), stderr: boolQueryParam(q, "stderr"), tty: boolQueryParam(q, "tty") };
  if (!p.stdin && !p.stdout && !p.stderr) throw badRequest("you must specify at least 1 of stdin, stdout, stderr");
  // A terminal merges stderr into stdout, so there is no stderr to send; upstream's kubelet drops
  // the request for it the same way (clients such as the Python one ask for both by default).
  if (p.tty) p.stderr = false;
  return p;
}

/** The query kubectl sends (`command` repeated once per argument), checked as upstream does. */
export function parseExecQuery(q: URLSearchParams): ExecParams {
  const command = q.getAll("command");
  if (!command.length || !command[0]) throw badRequest("you must specify at least one command for the container");
  return { command, ...parseStreamFlags(q) };
}

/** The subprotocol of a WebSocket upgrade request for exec or attach; anything else is a 400. */
export function streamSubprotocol(req: Request, what: "exec" | "attach"): ExecSubprotocol {
  const protocol = negotiateSubprotocol(req.headers.get("sec-websocket-protocol"));
  if (req.headers.get("upgrade")?.toLowerCase() !== "websocket" || !protocol) {
    throw badRequest(`${what} is served over WebSocket with one of the subprotocols ${EXEC_SUBPROTOCOLS.join(", ")}`);
  }
  return protocol;
}

export class ExecBridge {
  private ws?: ServerWebSocket<unknown>;
  private session?: ExecSession;
  private readonly queued: Frame[] = [];
  private readonly paused = new Set<Readable>();
  private stdinEnded = false;
  private closed = false;

  constructor(
    private readonly start: () => Promise<ExecSession>,
    private readonly params: StreamFlags,
    readonly protocol: ExecSubprotocol,
    private readonly log: Logger,
    /** How a runtime failure is worded on the error channel, as upstream's kubelet words it. */
    private readonly failurePrefix = "error executing command in container",
  ) {}

  open(ws: ServerWebSocket<unknown>) {
    this.ws = ws;
    this.start().then(
      (s) => this.attach(s),
      (e) => this.finish(e instanceof ApiError ? failureStatus(e.message, e.code, e.reason) : failureStatus(`${this.failurePrefix}: ${(e as Error).message}`)),
    );
  }

  message(data: string | Uint8Array) {
    const f = parseFrame(data);
    if (!f) return;
    if (this.session) this.handle(this.session, f);
    else this.queued.push(f);
  }

  /** The socket can take more: let paused output flow again. */
  drain() {
    for (const s of this.paused) s.resume();
    this.paused.clear();
  }

  /** The client went away (or the API server's tunnel did): end stdin so shells exit. */
  close() {
    this.closed = true;
    this.endStdin();
    this.session?.stdout.destroy();
    this.session?.stderr?.destroy();
  }

  private attach(s: ExecSession) {
    this.session = s;
    if (this.closed) return this.close();
    const streams = [this.forward(s.stdout, CHANNEL.stdout, this.params.stdout), s.stderr ? this.forward(s.stderr, CHANNEL.stderr, this.params.stderr) : Promise.resolve()];
    for (const f of this.queued.splice(0)) this.handle(s, f);
    Promise.all([s.exitCode, ...streams]).then(
      ([code]) => this.finish(exitStatus(code)),
      (e) => this.finish(failureStatus(`${this.failurePrefix}: ${(e as Error).message}`)),
    );
  }

  private handle(s: ExecSession, f: Frame) {
    switch (f.channel) {
      case CHANNEL.stdin:
        if (s.stdin && !this.stdinEnded && f.data.length) s.stdin.write(Buffer.from(f.data));
        return;
      case CHANNEL.resize: {
        const size = parseResize(f.data);
        if (size && s.resize) s.resize(size.height, size.width).catch((e) => this.log.debug("exec resize failed", { error: (e as Error).message }));
        return;
      }
      case CHANNEL.close:
        if (f.data[0] === CHANNEL.stdin) this.endStdin();
        return;
    }
  }

  /** Sends a stream's chunks on `channel` (or drops them if the client did not ask for it); resolves at its end. */
  private forward(stream: Readable, channel: number, wanted: boolean): Promise<void> {
    stream.on("data", (chunk: Buffer) => {
      if (!wanted || this.closed || !this.ws) return;
      if (this.ws.send(frame(channel, chunk)) === -1) {
        stream.pause();
        this.paused.add(stream);
      }
    });
    return finished(stream).catch(() => undefined);
  }

  /** Idempotent; also called again once the session exists, if the client ended stdin early. */
  private endStdin() {
    this.stdinEnded = true;
    this.session?.stdin?.end();
  }

  private finish(status: Record<string, unknown>) {
    if (this.closed || !this.ws) return;
    this.closed = true;
    this.ws.send(frame(CHANNEL.error, JSON.stringify(status)));
    this.ws.close(1000, "");
  }
}
