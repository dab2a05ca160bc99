// The environment every process a test starts gets: HOME in a temp dir of its own and no
// KUBECONFIG, so nothing a test runs (bramble, kubectl, python3-kubernetes) reads or writes the
// machine's ~/.kube, ~/.bramble or an installed server's kubeconfig, whatever the machine has.
// (Bun.spawn without `env` passes the environment the test process started with, so tests
// hand this one over explicitly.)
import { mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";

/** One temp HOME per test process, removed when it exits. */
export const TEST_HOME = mkdtempSync(join(tmpdir(), "bramble-test-home-"));
process.on("exit", () => rmSync(TEST_HOME, { recursive: true, force: true }));

// Bun keeps its transpiler cache under the real home: a cache, not state a result depends on,
// and a cold one would slow every `bun src/main.ts` a test starts.
const TRANSPILER_CACHE = process.env.BUN_RUNTIME_TRANSPILER_CACHE_PATH ?? join(homedir(), ".bun", "install", "cache", "@t@");

/**
 * process.env without KUBECONFIG, HOME = TEST_HOME (or `home`), plus `extra`. A server's embedded
 * agent serves logs and exec on a free port unless a test asks otherwise: 10250 belongs to the
 * machine's own node (an installed server), which must be able to restart while tests run.
 */
export function testEnv(extra: Record<string, string> = {}, home = TEST_HOME): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "KUBECONFIG") env[k] = v;
  return { BRAMBLE_KUBELET_PORT: "0", ...env, HOME: home, BUN_RUNTIME_TRANSPILER_CACHE_PATH: TRANSPILER_CACHE, ...extra };
}
