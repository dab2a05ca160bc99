// Connects to localhost:PORT inside a pod's network namespace, as upstream's container runtimes
// do for port-forwarding, so ports bound only to 127.0.0.1 in the pod are reachable. No helper
// process: the agent's own thread enters the namespace of the pod's sandbox (setns on
// /proc/<pause pid>/ns/net), creates and connects the socket there, and returns to its own
// namespace before anything else runs. A socket keeps the namespace it was made in, so Bun then
// drives it (Bun.connect({ fd })) like any other. Everything between the two setns calls is
// synchronous: no other JavaScript can run while the thread is inside the pod.
//
// The connect is non-blocking: on loopback it completes at once (accepted or refused) unless
// the listener's accept queue is full (busybox httpd's holds 9), and then the agent waits for
// it outside the namespace, polling the socket, as a SYN retry would, up to a deadline.
import type * as Ffi from "bun:ffi";
import { closeSync, openSync } from "node:fs";

const CLONE_NEWNET = 0x40000000;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_NONBLOCK = 0x800;
const SOCK_CLOEXEC = 0x80000;
const SOL_SOCKET = 1;
const SO_ERROR = 4;
const EINPROGRESS = 115;
const POLLOUT = 0x4;
/** How long a connect may wait for a busy listener (upstream's runtimes give a dial no less). */
const CONNECT_DEADLINE_MS = 20_000;

/** Upstream's wording (Go's syscall error strings) for what a loopback connect can answer. */
const ERRNO_TEXT: Record<number, string> = {
  111: "connection refused",
  110: "connection timed out",
  11: "resource temporarily unavailable",
  99: "cannot assign requested address",
  97: "address family not supported by protocol",
  101: "network is unreachable",
  24: "too many open files",
};

type Libc = ReturnType<typeof openLibc>;
let libc: Libc | undefined;
let ownNetns: number | undefined;
// bun:ffi costs ~3.5 MB of RSS once loaded: an agent that never forwards a port never loads it.
let ffi: typeof Ffi | undefined;
const ptr = (a: Parameters<typeof Ffi.ptr>[0]) => ffi!.ptr(a);

function openLibc() {
  const { dlopen, FFIType } = ffi!;
  return dlopen("libc.so.6", {
    setns: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    connect: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    getsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
    poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

export type DialResult = { fd: number } | { error: string };
type Attempt = DialResult | { inProgress: number };

/**
 * A connected TCP socket's fd to 127.0.0.1:port (then [::1]:port) in the network namespace of
 * process `pid`, or why not, worded as upstream's runtimes word it.
 */
export async function dialInNetns(pid: number, port: number): Promise<DialResult> {
  ffi ??= await import("bun:ffi");
  const v4 = await settle(inNetns(pid, AF_INET, port));
  if ("fd" in v4) return v4;
  const v6 = await settle(inNetns(pid, AF_INET6, port));
  if ("fd" in v6) return v6;
  return { error: `failed to connect to localhost:${port} inside the pod's network namespace, IPv4: dial tcp4 127.0.0.1:${port}: connect: ${v4.error} IPv6 dial tcp6 [::1]:${port}: connect: ${v6.error}` };
}

/** Starts the connect inside the namespace; everything here is synchronous. */
function inNetns(pid: number, family: number, port: number): Attempt {
  libc ??= openLibc();
  // The namespace this thread started in: where it must always return to.
  ownNetns ??= openSync("/proc/thread-self/ns/net", "r");
  let target: number;
  try {
    target = openSync(`/proc/${pid}/ns/net`, "r");
  } catch (e) {
    return { error: `the pod's network namespace is gone (process ${pid}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message})` };
  }
  try {
    if (libc.setns(target, CLONE_NEWNET) !== 0) return { error: `cannot enter the pod's network namespace: ${errnoText(libc)}` };
    try {
      return startConnect(libc, family, port);
    } finally {
      if (libc.setns(ownNetns, CLONE_NEWNET) !== 0) {
        // Staying in the pod's namespace would put every later socket of the agent there.
        console.error("fatal: the agent could not return to its own network namespace after a port-forward dial");
        process.exit(70);
      }
    }
  } finally {
    closeSync(target);
  }
}

function startConnect(c: Libc, family: number, port: number): Attempt {
  const fd = c.socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return { error: errnoText(c) };
  const addr = family === AF_INET ? sockaddrIn(port) : sockaddrIn6(port);
  if (c.connect(fd, ptr(addr), addr.length) === 0) return { fd };
  const errno = ffi!.read.i32(c.__errno_location()!, 0);
  if (errno === EINPROGRESS) return outcome(c, fd) ?? { inProgress: fd };
  c.close(fd);
  return { error: ERRNO_TEXT[errno] ?? `errno ${errno}` };
}

/** Waits (outside the namespace) for a connect still in progress. */
async function settle(a: Attempt): Promise<DialResult> {
  if (!("inProgress" in a)) return a;
  const deadline = Date.now() + CONNECT_DEADLINE_MS;
  for (let wait = 1; Date.now() < deadline; wait = Math.min(wait * 2, 100)) {
    await Bun.sleep(wait);
    const done = outcome(libc!, a.inProgress);
    if (done) return done;
  }
  libc!.close(a.inProgress);
  return { error: ERRNO_TEXT[110]! };
}

/** The result of a non-blocking connect once the socket is writable; undefined while it is not. */
function outcome(c: Libc, fd: number): DialResult | undefined {
  const pfd = new Int32Array([fd, POLLOUT]); // struct pollfd { int fd; short events; short revents; }
  if (c.poll(ptr(pfd), 1, 0) <= 0) return undefined;
  const err = new Int32Array(1);
  const len = new Uint32Array([4]);
  c.getsockopt(fd, SOL_SOCKET, SO_ERROR, ptr(err), ptr(len));
  if (err[0] === 0) return { fd };
  c.close(fd);
  return { error: ERRNO_TEXT[err[0]!] ?? `errno ${err[0]}` };
}

function errnoText(c: Libc): string {
  const errno = ffi!.read.i32(c.__errno_location()!, 0);
  return ERRNO_TEXT[errno] ?? `errno ${errno}`;
}
/** struct sockaddr_in for 127.0.0.1:port. */
function sockaddrIn(port: number): Uint8Array {
  const a = new Uint8Array(16);
  new DataView(a.buffer).setUint16(0, AF_INET, true);
  new DataView(a.buffer).setUint16(2, port, false);
  a.set([127, 0, 0, 1], 4);
  return a;
}

/** struct sockaddr_in6 for [::1]:port. */
function sockaddrIn6(port: number): Uint8Array {
  const a = new Uint8Array(28);
  new DataView(a.buffer).setUint16(0, AF_INET6, true);
  new DataView(a.buffer).setUint16(2, port, false);
  a[23] = 1; // sin6_addr starts at 8: ::1
  return a;
}
