// The pause image, built by the agent itself because there is no registry to pull one from
// (air-gapped Pis are the point). It is a hand-assembled static ELF of ~200 bytes for x86-64 and
// arm64 that blocks SIGTERM/SIGINT and waits for them with rt_sigtimedwait, then exits 0.
// Blocking (rather than installing a handler) matters: as PID 1 of its PID namespace, a process
// never receives signals left at their default action, but blocked ones stay pending and are
// returned by sigtimedwait. No libc, no loader, nothing else in the image but empty mount points.
import type { ContainerRuntime } from "../runtime/runtime";
import { buildTar } from "./tar";

const SIGSET = 0x4002n; // bit (15-1) SIGTERM | bit (2-1) SIGINT
const LOAD_ADDRESS = 0x400000n;
const HEADERS = 64 + 56; // ELF header + one program header; code follows at once

function le(n: number | bigint, bytes: number): number[] {
  let v = BigInt(n);
  const out: number[] = [];
  for (let i = 0; i < bytes; i++, v >>= 8n) out.push(Number(v & 0xffn));
  return out;
}

/**
 *   rt_sigprocmask(SIG_BLOCK, &set, NULL, 8)
 * loop:
 *   if (rt_sigtimedwait(&set, NULL, NULL, 8) <= 0) goto loop   // EINTR and friends
 *   exit_group(0)
 * set: .quad SIGTERM|SIGINT
 */
function x86_64Code(): number[] {
  const code = [
    0xb8, ...le(14, 4), // 0:  mov eax, 14 (rt_sigprocmask)
    0x31, 0xff, // 5:  xor edi, edi (SIG_BLOCK)
    0x48, 0x8d, 0x35, ...le(64 - 14, 4), // 7:  lea rsi, [rip + set]
    0x31, 0xd2, // 14: xor edx, edx
    0x41, 0xba, ...le(8, 4), // 16: mov r10d, 8 (sizeof sigset)
    0x0f, 0x05, // 22: syscall
    0xb8, ...le(128, 4), // 24 loop: mov eax, 128 (rt_sigtimedwait)
    0x48, 0x8d, 0x3d, ...le(64 - 36, 4), // 29: lea rdi, [rip + set]
    0x31, 0xf6, // 36: xor esi, esi
    0x31, 0xd2, // 38: xor edx, edx
    0x41, 0xba, ...le(8, 4), // 40: mov r10d, 8
    0x0f, 0x05, // 46: syscall
    0x85, 0xc0, // 48: test eax, eax
    0x7e, (24 - 52) & 0xff, // 50: jle loop
    0xb8, ...le(231, 4), // 52: mov eax, 231 (exit_group)
    0x31, 0xff, // 57: xor edi, edi
    0x0f, 0x05, // 59: syscall
    0x90, 0x90, 0x90, // 61: padding to 64
  ];
  return [...code, ...le(SIGSET, 8)];
}

const movz = (rd: number, imm: number) => 0xd2800000 | (imm << 5) | rd;
const adr = (rd: number, from: number, to: number) => {
  const off = to - from;
  return (0x10000000 | ((off & 3) << 29) | (((off >> 2) & 0x7ffff) << 5) | rd) >>> 0;
};
const SVC0 = 0xd4000001;

function arm64Code(): number[] {
  const set = 72;
  const words = [
    movz(0, 0), // 0:  x0 = SIG_BLOCK
    adr(1, 4, set), // 4:  x1 = &set
    movz(2, 0), // 8:  x2 = NULL
    movz(3, 8), // 12: x3 = sizeof sigset
    movz(8, 135), // 16: rt_sigprocmask
    SVC0, // 20
    adr(0, 24, set), // 24 loop: x0 = &set
    movz(1, 0), // 28
    movz(2, 0), // 32
    movz(3, 8), // 36
    movz(8, 137), // 40: rt_sigtimedwait
    SVC0, // 44
    0xf100001f, // 48: cmp x0, #0
    (0x54000000 | ((((24 - 52) >> 2) & 0x7ffff) << 5) | 0xd) >>> 0, // 52: b.le loop
    movz(0, 0), // 56
    movz(8, 94), // 60: exit_group
    SVC0, // 64
    0xd503201f, // 68: nop (aligns set)
  ];
  return [...words.flatMap((w) => le(w >>> 0, 4)), ...le(SIGSET, 8)];
}

/** A static ELF64 executable with one read+execute segment. */
export function pauseElf(arch: "amd64" | "arm64"): Uint8Array {
  const code = arch === "amd64" ? x86_64Code() : arm64Code();
  const machine = arch === "amd64" ? 62 : 183;
  const size = HEADERS + code.length;
  const ehdr = [
    0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, ...le(0, 8), // ELF64, little-endian, SysV
    ...le(2, 2), ...le(machine, 2), ...le(1, 4), // ET_EXEC, machine, version
    ...le(LOAD_ADDRESS + BigInt(HEADERS), 8), // entry
    ...le(64, 8), ...le(0, 8), ...le(0, 4), // phoff, shoff, flags
    ...le(64, 2), ...le(56, 2), ...le(1, 2), ...le(64, 2), ...le(0, 2), ...le(0, 2),
  ];
  const phdr = [
    ...le(1, 4), ...le(5, 4), // PT_LOAD, R+X
    ...le(0, 8), ...le(LOAD_ADDRESS, 8), ...le(LOAD_ADDRESS, 8), // offset, vaddr, paddr
    ...le(size, 8), ...le(size, 8), ...le(0x1000, 8), // filesz, memsz, align
  ];
  return new Uint8Array([...ehdr, ...phdr, ...code]);
}

/** Docker's architecture names for what Node calls x64/arm64. */
export function dockerArch(arch: string = process.arch): "amd64" | "arm64" {
  if (arch === "x64" || arch === "amd64" || arch === "x86_64") return "amd64";
  if (arch === "arm64" || arch === "aarch64") return "arm64";
  throw new Error(`no pause image for architecture ${arch} (bramble supports amd64 and arm64)`);
}

export function pauseImageTar(arch: "amd64" | "arm64"): Uint8Array {
  return buildTar([
    { name: "pause", data: pauseElf(arch), mode: 0o755 },
    ...["dev", "proc", "sys", "etc"].map((name) => ({ name, type: "dir" as const })),
  ]);
}

/** Bumped whenever the program above changes, so nodes import the new one. */
export const PAUSE_VERSION = "1";
export const PAUSE_IMAGE = `bramble/pause:${PAUSE_VERSION}`;

/** Imports the pause image unless the engine has it; returns its reference. */
export async function ensurePauseImage(runtime: ContainerRuntime, arch?: string): Promise<string> {
  if (await runtime.imagePresent(PAUSE_IMAGE)) return PAUSE_IMAGE;
  const a = dockerArch(arch ?? (await runtime.version()).arch ?? process.arch);
  await runtime.importImage(pauseImageTar(a), PAUSE_IMAGE, ['ENTRYPOINT ["/pause"]', 'LABEL io.bramble.managed="true"']);
  return PAUSE_IMAGE;
}
