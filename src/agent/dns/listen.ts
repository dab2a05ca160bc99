// The sockets: one UDP socket and one TCP listener on the same address and port (RFC 7766:
// a DNS server answers on both). TCP messages carry a 2-byte length prefix; a connection may
// carry several queries and is closed after a quiet spell.
import type { Socket, TCPSocketListener } from "bun";

export type Handler = (query: Buffer, udp: boolean) => Buffer | undefined | Promise<Buffer | undefined>;

/** Calls `send` with the handler's answer, at once when it has one, else when its promise settles. */
function reply(out: ReturnType<Handler>, send: (b: Buffer) => void) {
  const safeSend = (b: Buffer | undefined) => {
    try {
      if (b) send(b);
    } catch {
      // A send error (client gone, buffer full) loses this answer only; the client retries.
    }
  };
  if (out instanceof Promise) out.then(safeSend, () => {});
  else safeSend(out);
}

export interface Listening {
  port: number;
  close(): void;
}

/** TCP connections idle this long are closed (RFC 7766 suggests seconds, not minutes). */
const TCP_IDLE_MS = 10_000;
/** Bound on a TCP client's unanswered bytes, so one client cannot grow our memory. */
const TCP_MAX_BUFFER = 70_000;

/** Binds UDP then TCP on the UDP socket's port (port 0 picks one). Throws when either cannot bind. */
export async function listenDns(address: string, port: number, handle: Handler): Promise<Listening> {
  // With port 0 the UDP port is free for UDP only: another process may hold it for TCP. Pick again.
  for (let attempt = 1; ; attempt++) {
    try {
      return await listenDnsOnce(address, port, handle);
    } catch (e) {
      if (port !== 0 || attempt >= 5 || (e as { code?: string }).code !== "EADDRINUSE") throw e;
    }
  }
}

async function listenDnsOnce(address: string, port: number, handle: Handler): Promise<Listening> {
  const udp = await Bun.udpSocket({
    hostname: address,
    port,
    socket: {
      data(sock, buf, rport, raddr) {
        let out: ReturnType<Handler>;
        try {
          out = handle(Buffer.from(buf), true);
        } catch {
          return; // a handler bug drops this query, never the socket
        }
        reply(out, (b) => {
          try {
            sock.send(b, rport, raddr);
          } catch {
            // the client is gone (ICMP port unreachable surfaces as ECONNREFUSED): its loss
          }
        });
      },
      // The same ICMP error reported on the socket: without a handler Bun throws it out of the
      // event loop, and a pod that gave up on a query would take the whole process down.
      error() {},
    },
  });
  let tcp: TCPSocketListener<TcpState>;
  try {
    tcp = listenTcp(address, udp.port, handle);
  } catch (e) {
    udp.close();
    throw e;
  }
  return {
    port: udp.port,
    close() {
      udp.close();
      tcp.stop(true);
    },
  };
}

interface TcpState {
  buf: Buffer;
  timer?: ReturnType<typeof setTimeout>;
}

function listenTcp(address: string, port: number, handle: Handler): TCPSocketListener<TcpState> {
  const idle = (s: Socket<TcpState>) => {
    clearTimeout(s.data.timer);
    s.data.timer = setTimeout(() => s.end(), TCP_IDLE_MS);
  };
  return Bun.listen<TcpState>({
    hostname: address,
    port,
    socket: {
      open(s) {
        s.data = { buf: Buffer.alloc(0) };
        idle(s);
      },
      data(s, chunk) {
        idle(s);
        let buf = s.data.buf.length ? Buffer.concat([s.data.buf, chunk]) : Buffer.from(chunk);
        while (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
          const len = buf.readUInt16BE(0);
          const msg = Buffer.from(buf.subarray(2, 2 + len));
          buf = buf.subarray(2 + len);
          let out: ReturnType<Handler>;
          try {
            out = handle(msg, false);
          } catch {
            continue;
          }
          reply(out, (b) => {
            const framed = Buffer.alloc(b.length + 2);
            framed.writeUInt16BE(b.length, 0);
            b.copy(framed, 2);
            s.write(framed);
          });
        }
        if (buf.length > TCP_MAX_BUFFER) return void s.end();
        s.data.buf = buf;
      },
      close(s) {
        clearTimeout(s.data?.timer);
      },
      error(s) {
        clearTimeout(s.data?.timer);
      },
    },
  });
}
