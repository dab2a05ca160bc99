// Forwarding names outside the cluster zone to the node's own resolvers. The query's bytes go
// out as they came (only the ID is replaced, so concurrent queries cannot be confused and an
// off-path answer has to guess it), over UDP; a truncated answer is asked again over TCP when
// the client itself came over TCP (a UDP client gets the truncated answer and retries over TCP
// on its own, as RFC 7766 expects). Each upstream gets `timeoutMs`; one that answered last is
// tried first next time. No upstream answering → undefined, which the server turns into SERVFAIL.
import { readFileSync } from "node:fs";
import type { udp } from "bun";
import type { Logger } from "../../machinery/log";
import { questionSectionEnd } from "./question";

export interface Upstream {
  host: string;
  port: number;
}

/** "10.0.0.1", "10.0.0.1:5353", "[fd00::1]:53", "fd00::1". */
export function parseUpstream(s: string): Upstream {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : 53 };
  const parts = s.split(":");
  if (parts.length === 2) return { host: parts[0]!, port: Number(parts[1]) };
  return { host: s, port: 53 };
}

const isLoopback = (ip: string) => ip.startsWith("127.") || ip === "::1" || ip === "0.0.0.0" || ip === "::";

/** nameserver lines of a resolv.conf text. */
export function nameserversOf(resolvConf: string): string[] {
  const out: string[] = [];
  for (const line of resolvConf.split("\n")) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m) out.push(m[1]!.replace(/%.*$/, "")); // drop an IPv6 zone ("fe80::1%eth0"): not routable from here
  }
  return out;
}

/**
 * The node's resolvers, minus those that would send a query back to us: loopback stubs
 * (systemd-resolved's 127.0.0.53 forwards to … whatever the node's resolv.conf says, and a
 * pod cannot reach it anyway) and the cluster DNS IP itself. With only a systemd stub left,
 * the real upstreams are in /run/systemd/resolve/resolv.conf (what the kubelet reads too).
 */
export function defaultUpstreams(clusterDns: string, read: (path: string) => string | undefined = readText): string[] {
  const usable = (text: string | undefined) => nameserversOf(text ?? "").filter((ip) => !isLoopback(ip) && ip !== clusterDns);
  const main = usable(read("/etc/resolv.conf"));
  return main.length ? main : usable(read("/run/systemd/resolve/resolv.conf"));
}

function readText(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

interface Pending {
  resolve(answer: Buffer | undefined): void;
  upstream: Upstream;
  deadline: number;
  /** The query's question section: the answer must repeat it (a spoofer must guess it too). */
  question: Buffer;
}

export interface ForwarderOptions {
  upstreams: Upstream[];
  /** Time one upstream gets to answer before the next is tried. */
  timeoutMs: number;
  log: Logger;
}

/** At most this many queries in flight on the shared UDP socket; beyond, SERVFAIL at once. */
const MAX_IN_FLIGHT = 4096;

export class Forwarder {
  private socket?: udp.Socket<"buffer">;
  private readonly pending = new Map<number, Pending>();
  private preferred = 0;
  private closed = false;
  /** One sweep for all queries in flight, not a timer each (a timer per query costs more than the query). */
  private sweeper?: ReturnType<typeof setInterval>;
  /** Unpredictable query IDs, drawn from the CSPRNG in batches. */
  private readonly ids = new Uint16Array(1024);
  private idsLeft = 0;

  constructor(private readonly opts: ForwarderOptions) {}

  get upstreams(): Upstream[] {
    return this.opts.upstreams;
  }

  async start(): Promise<void> {
    this.socket = await Bun.udpSocket({
      socket: {
        data: (_s, buf, port, address) => this.onAnswer(Buffer.from(buf), port, address),
        // ICMP errors (port unreachable) show up here on some kernels; the timeout handles them.
        error: () => {},
      },
    });
  }

  close() {
    this.closed = true;
    this.socket?.close();
    clearInterval(this.sweeper);
    this.sweeper = undefined;
    for (const [, p] of this.pending) p.resolve(undefined);
    this.pending.clear();
  }

  /** The upstream's answer to `query` (with the query's own ID), or undefined when none answered. */
  async forward(query: Buffer, overTcp: boolean): Promise<Buffer | undefined> {
    const ups = this.opts.upstreams;
    if (!ups.length || query.length < 12 || this.closed) return undefined;
    const clientId = query.readUInt16BE(0);
    for (let i = 0; i < ups.length; i++) {
      const idx = (this.preferred + i) % ups.length;
      const up = ups[idx]!;
      let answer = await this.askUdp(query, up);
      if (answer && overTcp && (answer[2]! & 0x02) !== 0) answer = await askTcp(query, up, this.opts.timeoutMs);
      if (answer) {
        this.preferred = idx;
        answer.writeUInt16BE(clientId, 0);
        return answer;
      }
    }
    return undefined;
  }

  private askUdp(query: Buffer, up: Upstream): Promise<Buffer | undefined> {
    if (!this.socket || this.pending.size >= MAX_IN_FLIGHT) return Promise.resolve(undefined);
    let id = this.randomId();
    for (let tries = 0; this.pending.has(id) && tries < 64; tries++) id = this.randomId();
    if (this.pending.has(id)) return Promise.resolve(undefined);
    const out = Buffer.from(query);
    out.writeUInt16BE(id, 0);
    return new Promise((resolve) => {
      const qEnd = questionSectionEnd(query);
      this.pending.set(id, { resolve, upstream: up, deadline: performance.now() + this.opts.timeoutMs, question: query.subarray(12, Math.max(12, qEnd)) });
      this.sweeper ??= setInterval(() => this.sweep(), Math.min(100, Math.max(10, this.opts.timeoutMs / 10)));
      try {
        this.socket!.send(out, up.port, up.host);
      } catch (e) {
        this.opts.log.debug("send to upstream failed", { upstream: `${up.host}:${up.port}`, error: String(e) });
      }
    });
  }

  private onAnswer(buf: Buffer, port: number, address: string) {
    if (buf.length < 12) return;
    const id = buf.readUInt16BE(0);
    const p = this.pending.get(id);
    // Only the upstream we asked may answer (an answer from anywhere else is ignored).
    if (!p || p.upstream.port !== port || !sameHost(p.upstream.host, address)) return;
    if (!buf.subarray(12, 12 + p.question.length).equals(p.question)) return;
    this.pending.delete(id);
    p.resolve(buf);
  }

  private sweep() {
    const now = performance.now();
    for (const [id, p] of this.pending) {
      if (p.deadline <= now) {
        this.pending.delete(id);
        p.resolve(undefined);
      }
    }
    if (this.pending.size === 0) {
      clearInterval(this.sweeper);
      this.sweeper = undefined;
    }
  }

  private randomId(): number {
    if (this.idsLeft === 0) {
      crypto.getRandomValues(this.ids);
      this.idsLeft = this.ids.length;
    }
    return this.ids[--this.idsLeft]!;
  }
}

const sameHost = (a: string, b: string) => a === b || a === b.replace(/^::ffff:/, "");

/** One query over a fresh TCP connection (2-byte length prefix, RFC 1035 4.2.2). */
export function askTcp(query: Buffer, up: Upstream, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    let got = Buffer.alloc(0);
    let done = false;
    let sock: { end(): void } | undefined;
    const finish = (v: Buffer | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock?.end();
      resolve(v);
    };
    const timer = setTimeout(() => finish(undefined), timeoutMs);
    const framed = Buffer.alloc(query.length + 2);
    framed.writeUInt16BE(query.length, 0);
    query.copy(framed, 2);
    Bun.connect({
      hostname: up.host,
      port: up.port,
      socket: {
        open: (s) => void s.write(framed),
        data: (_s, chunk) => {
          got = Buffer.concat([got, chunk]);
          if (got.length >= 2 && got.length >= 2 + got.readUInt16BE(0)) finish(Buffer.from(got.subarray(2, 2 + got.readUInt16BE(0))));
        },
        close: () => finish(undefined),
        error: () => finish(undefined),
        connectError: () => finish(undefined),
      },
    })
      .then((s) => {
        sock = s;
        if (done) s.end();
      })
      .catch(() => finish(undefined));
  });
}
