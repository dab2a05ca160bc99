// Connects to localhost:PORT inside a pod's network namespace, as upstream's container runtimes
// do for port-forwarding, so ports bound only to 127.0.0.1 in the pod are reachable. No helper
// process: the agent's own thread enters the namespace of the pod's sandbox (setns on
// /proc/<pause pid>/ns/net), creates and connects the socket there, and returns to its own
// namespace before anything else runs. A socket keeps the namespace it was made in, so Bun then
// drives it (Bun.connect({ fd })) like any other. Everything between the two setns calls is
// synchronous: no other JavaScript can run while the thread is inside the pod.
//
// The connect is blocking, which on loopback returns at once (accepted or refused); SO_SNDTIMEO
// bounds the one case that would wait (a listener whose accept queue is full).
import { dlopen, FFIType, ptr, read } from "bun:ffi";
import { closeSync, openSync } from "node:fs";

const CLONE_NEWNET = 0x40000000;
const AF_INET = 2;
const AF_INET6 = 10;
const SOCK_STREAM = 1;
const SOCK_CLOEXEC = 0x80000;
const SOL_SOCKET = 1;
const SO_SNDTIMEO = 21;
const CONNECT_TIMEOUT_S = 1;

/** Upstream's wording (Go's syscall error strings) for what a loopback connect can answer. */
const ERRNO_TEXT: Record<number, string> = {
  111: "connection refused",
  110: "connection timed out",
  115: "operation now in progress",
  11: "resource temporarily unavailable",
  99: "cannot assign requested address",
  97: "address family not supported by protocol",
  101: "network is unreachable",
  24: "too many open files",
};

type Libc = ReturnType<typeof openLibc>;
let libc: Libc | undefined;
let ownNetns: number | undefined;

function openLibc() {
  return dlopen("libc.so.6", {
    setns: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    connect: { args: [FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    setsockopt: { args: [FFIType.i32, FFIType.i32, FFIType.i32, FFIType.ptr, FFIType.u32], returns: FFIType.i32 },
    close: { args: [FFIType.i32], returns: FFIType.i32 },
    __errno_location: { args: [], returns: FFIType.ptr },
  }).symbols;
}

export type DialResult = { fd: number } | { error: string };

/**
 * A connected TCP socket's fd to 127.0.0.1:port (then [::1]:port) in the network namespace of
 * process `pid`, or why not, worded as upstream's runtimes word it.
 */
export function dialInNetns(pid: number, port: number): DialResult {
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
    let v4: DialResult;
    let v6: DialResult | undefined;
    try {
      v4 = connectLoopback(libc, AF_INET, port);
      if ("error" in v4) v6 = connectLoopback(libc, AF_INET6, port);
    } finally {
      if (libc.setns(ownNetns, CLONE_NEWNET) !== 0) {
        // Staying in the pod's namespace would put every later socket of the agent there.
        console.error("fatal: the agent could not return to its own network namespace after a port-forward dial");
        process.exit(70);
      }
    }
    if ("fd" in v4) return v4;
    if (v6 && "fd" in v6) return v6;
    return { error: `failed to connect to localhost:${port} inside the pod's network namespace, IPv4: dial tcp4 127.0.0.1:${port}: connect: ${v4.error} IPv6 dial tcp6 [::1]:${port}: connect: ${(v6 as { error: string }).error}` };
  } finally {
    closeSync(target);
  }
}

function connectLoopback(c: Libc, family: number, port: number): DialResult {
  const fd = c.socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return { error: errnoText(c) };
  const timeout = new BigInt64Array([BigInt(CONNECT_TIMEOUT_S), 0n]); // struct timeval
  c.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, ptr(timeout), 16);
  const addr = family === AF_INET ? sockaddrIn(port) : sockaddrIn6(port);
  if (c.connect(fd, ptr(addr), addr.length) !== 0) {
    const error = errnoText(c);
    c.close(fd);
    return { error };
  }
  timeout.fill(0n);
  c.setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, ptr(timeout), 16);
  return { fd };
}

function errnoText(c: Libc): string {
  const errno = read.i32(c.__errno_location()!, 0);
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
