// Raspberry Pi class (arm64) without a Pi: the arm64 build of bramble and the agent's arm64 pause
// program, run under qemu user-mode emulation on the x86-64 test machine. A smoke test of what
// only runs on arm64 — the cross-compiled Bun runtime, libSQL's arm64 addon with the embedded
// file store, and the hand-assembled pause program — not of bramble's behaviour, which the other
// tests cover natively.
//
// Needs qemu-user-static, libc6-arm64-cross and libgcc-s1-arm64-cross (libSQL's addon links
// libgcc_s), and kubectl. Without them the tests skip with the reason locally; in CI (CI=true)
// they fail instead. On an arm64 host everything runs natively and no emulator is needed.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pauseElf } from "../src/agent/images/pause";
import { eventually } from "./helpers/eventually";
import { freePort } from "./helpers/server";
import { ServerProcess } from "./helpers/server-process";
import { testEnv } from "./helpers/env";
import { requirements } from "../src/machinery/test-requirements";

const ROOT = join(import.meta.dir, "..");
const QEMU = "qemu-aarch64-static";
const SYSROOT = "/usr/aarch64-linux-gnu"; // where Debian's *-arm64-cross packages put the arm64 libraries
const EMULATED = process.arch !== "arm64";
/** Prefix of every arm64 command line: the emulator with the arm64 sysroot, or nothing natively. */
const RUN_ARM64 = EMULATED ? [QEMU, "-L", SYSROOT] : [];
const ELF_MACHINE_AARCH64 = 183;

function missingPrerequisite(): string | undefined {
  if (!Bun.which("kubectl")) return "kubectl is not on PATH (the server is driven with the real kubectl)";
  if (!EMULATED) return undefined;
  if (!Bun.which(QEMU)) return `${QEMU} is not on PATH: apt-get install -y qemu-user-static`;
  if (!existsSync(join(SYSROOT, "lib", "ld-linux-aarch64.so.1"))) return `no arm64 libc in ${SYSROOT}: apt-get install -y libc6-arm64-cross`;
  if (!existsSync(join(SYSROOT, "lib", "libgcc_s.so.1"))) return `no arm64 libgcc_s in ${SYSROOT} (libSQL's addon needs it): apt-get install -y libgcc-s1-arm64-cross`;
  return undefined;
}

const missing = requirements("arm64 smoke test", missingPrerequisite());

const work = mkdtempSync(join(tmpdir(), "bramble-arm64-"));
const bin = join(work, "bramble");
afterAll(() => rmSync(work, { recursive: true, force: true }));


function kubectl(kubeconfig: string, ...args: string[]) {
  const p = Bun.spawnSync(["kubectl", "--kubeconfig", kubeconfig, "--request-timeout=30s", ...args], { timeout: 45_000, env: testEnv() });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

/** `bramble server` under emulation (slower: a minute to get ready, 30 s to stop). */
const emulatedServer = (dataDir: string, port: number) =>
  new ServerProcess([...RUN_ARM64, bin, "server", "--data-dir", dataDir, "--https-listen-port", String(port), "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1", "--disable-agent"], dataDir, port, work);

describe.skipIf(!!missing)("arm64 build under emulation", () => {
  beforeAll(() => {
    // The repo's own build script, as a user would cross-build for a Pi (it fetches libSQL's arm64 addon).
    const build = Bun.spawnSync([process.execPath, join(ROOT, "scripts", "build.ts"), "--target=bun-linux-arm64", `--outfile=${bin}`], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    if (build.exitCode !== 0) throw new Error(`arm64 build failed:\n${build.stdout}\n${build.stderr}`);
    // An x86-64 binary would pass everything below without emulating anything.
    const header = readFileSync(bin).subarray(0, 20);
    expect(new DataView(header.buffer, header.byteOffset).getUint16(18, true)).toBe(ELF_MACHINE_AARCH64);
  }, 300_000);

  test("bramble version runs on arm64", () => {
    const p = Bun.spawnSync([...RUN_ARM64, bin, "version"], { cwd: work, timeout: 60_000 });
    expect(p.stderr.toString()).toBe("");
    expect(p.exitCode).toBe(0);
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    const [first, runtime] = p.stdout.toString().split("\n");
    expect(first).toMatch(new RegExp(`^bramble version v${pkg.version.replaceAll(".", "\\.")} \\(compiled \\d{4}-\\d\\d-\\d\\dT`));
    expect(runtime).toMatch(/^bun \S+ linux\/arm64$/);
  }, 60_000);

  test(
    "server on the embedded libSQL store: kubectl creates and reads a ConfigMap, SIGTERM stops it, a restart keeps the ConfigMap",
    async () => {
      const dataDir = join(work, "data");
      const port = freePort();
      let server = emulatedServer(dataDir, port);
      try {
        await server.waitReady(60_000);
        const created = kubectl(server.kubeconfig, "create", "configmap", "arm64-smoke", "--from-literal=arch=arm64");
        expect(created.stderr).toBe("");
        expect(created.stdout).toBe("configmap/arm64-smoke created\n");
        const got = kubectl(server.kubeconfig, "get", "configmap", "arm64-smoke", "-o", "jsonpath={.data.arch}");
        expect(got.stderr).toBe("");
        expect(got.stdout).toBe("arm64");
        const uid = kubectl(server.kubeconfig, "get", "configmap", "arm64-smoke", "-o", "jsonpath={.metadata.uid}").stdout;
        expect(uid).not.toBe("");

        expect(await server.terminate(30_000)).toBe(0);
        expect(server.log).toContain("stopped");
        expect(existsSync(join(dataDir, "server", "state.db"))).toBe(true);

        // Same data dir: the ConfigMap came from the arm64 libSQL file, not from memory.
        server = emulatedServer(dataDir, port);
        await server.waitReady(60_000);
        const again = kubectl(server.kubeconfig, "get", "configmap", "arm64-smoke", "-o", "jsonpath={.metadata.uid} {.data.arch}");
        expect(again.stderr).toBe("");
        expect(again.stdout).toBe(`${uid} arm64`);
        expect(await server.terminate(30_000)).toBe(0);
      } finally {
        if (server.proc.exitCode === null) server.proc.kill("SIGKILL");
      }
    },
    150_000,
  );

  test("the arm64 pause program waits, then exits 0 on SIGTERM", async () => {
    const path = join(work, "pause-arm64");
    await Bun.write(path, pauseElf("arm64"));
    chmodSync(path, 0o755);
    const p = Bun.spawn([...RUN_ARM64, path], { stdout: "ignore", stderr: "pipe" });
    try {
      // Waiting means sitting in rt_sigtimedwait: qemu makes that host syscall only on the
      // program's behalf, after its rt_sigprocmask, so SIGTERM is blocked from then on.
      const sigtimedwait = process.arch === "arm64" ? 137 : 128;
      await eventually(
        "the pause program to wait in rt_sigtimedwait",
        async () => {
          if (p.exitCode !== null) throw new Error(`pause exited with ${p.exitCode}: ${await new Response(p.stderr).text()}`);
          return readFileSync(`/proc/${p.pid}/syscall`, "utf8").split(" ")[0] === String(sigtimedwait);
        },
        { timeoutMs: 30_000, intervalMs: 50 },
      );
      expect(p.exitCode).toBeNull();
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
      expect(p.signalCode).toBeNull();
    } finally {
      if (p.exitCode === null) p.kill("SIGKILL");
    }
  }, 60_000);
});
