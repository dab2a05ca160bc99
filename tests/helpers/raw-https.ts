// HTTP over TLS written by hand, for requests no well-behaved client sends: bodies bigger than
// they say or than any limit, bodies trickled a byte at a time, broken request lines and
// headers, connections cut mid-handshake. The server's certificate is not checked (the tests
// aim at the server, not at its identity). Also the RSS of a process, from /proc.
import { readFileSync } from "node:fs";
import { connect, type TLSSocket } from "node:tls";

export interface RawResponse {
  /** The status code of the first response line, or 0 when none came. */
  status: number;
  /** Everything the server sent. */
  text: string;
  headers: Record<string, string>;
  /** The JSON body, when there is one. */
  json?: any;
}

export function parseResponse(text: string): RawResponse {
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  const end = text.indexOf("\r\n\r\n");
  const headers: Record<string, string> = {};
  for (const line of text.slice(0, end < 0 ? undefined : end).split("\r\n").slice(1)) {
    const i = line.indexOf(":");
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  let json: any;
  if (end >= 0) {
    const body = text.slice(end + 4);
    const start = body.indexOf("{");
    try {
      json = start >= 0 ? JSON.parse(body.slice(start, body.lastIndexOf("}") + 1)) : undefined;
    } catch {}
  }
  return { status: m ? Number(m[1]) : 0, text, headers, json };
}

export function tlsSocket(port: number, host = "127.0.0.1"): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, rejectUnauthorized: false }, () => resolve(s));
    s.once("error", reject);
  });
}

/** Collects what the server sends until it closes the connection or `timeoutMs` passes. */
export function collect(s: TLSSocket, timeoutMs = 30_000): Promise<string> {
  return new Promise((resolve) => {
    let out = "";
    const done = () => {
      clearTimeout(timer);
      resolve(out);
    };
    const timer = setTimeout(() => {
      s.destroy();
      done();
    }, timeoutMs);
    s.on("data", (d) => (out += d.toString("latin1")));
    s.on("error", () => {}); // a reset after the answer is fine: the answer is what counts
    s.on("close", done);
  });
}

/**
 * Sends `head` (request line and headers, without the blank line), then `body` in chunks, while
 * reading the answer; stops sending once the server answers or closes. Resolves to the answer.
 */
export async function rawRequest(port: number, head: string, body?: { bytes: number; chunked?: boolean }, timeoutMs = 30_000): Promise<RawResponse> {
  const s = await tlsSocket(port);
  const answer = collect(s, timeoutMs);
  let answered = false;
  s.once("data", () => (answered = true));
  s.write(head + "\r\n\r\n");
  if (body) {
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    for (let sent = 0; sent < body.bytes && !answered && !s.destroyed; sent += chunk.length) {
      const data = body.chunked ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]) : chunk;
      if (!s.write(data)) await new Promise<void>((r) => {
        const t = setTimeout(r, 1000); // a server that stopped reading: go on and see what it said
        s.once("drain", () => {
          clearTimeout(t);
          r();
        });
      });
    }
    if (body.chunked && !answered && !s.destroyed) s.write("0\r\n\r\n");
  }
  return parseResponse(await answer);
}

/** Resident set size of a process in bytes (VmRSS). */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

export const mb = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
