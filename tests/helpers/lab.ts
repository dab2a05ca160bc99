// One multi-node lab per test file (scripts/lab): brought up in beforeAll, always torn down in
// afterAll — and, should the test process end without afterAll (a crash, a kill), torn down
// from its exit handler; a lab left over anyway is removed by the next `upLab`.
//
//   const lab = useLab();            // at the top of the file
//   describe.skipIf(!!labSkipReason)(..., () => { test(..., async () => { lab().kubectl(...) }) });
//
// The lab needs root, iproute2, nsenter, iptables, dockerd, kubectl and /bin/busybox. Without
// them the tests skip with the reason locally; in CI (CI=true) they fail instead.
// BRAMBLE_LAB_KEEP=1 (not in CI) leaves the lab up after the tests, for a post-mortem.
import { afterAll, beforeAll } from "bun:test";
import { join } from "node:path";
import { Lab, downLab, upLab } from "../../scripts/lab/lab";
import { REPO_ROOT } from "../../scripts/lab/config";
import { inCI, missingCommand, missingFile, notRoot, requirements } from "../../src/machinery/test-requirements";

const missing = requirements(
  "lab tests",
  notRoot("network namespaces, iptables"),
  ...["ip", "nsenter", "iptables", "dockerd", "docker", "kubectl"].map((tool) => missingCommand(tool)),
  missingFile("/bin/busybox", "busybox-static: the test image"),
);

/** Why the lab tests skip here, or undefined when they run. */
export const labSkipReason = missing;

let up: Lab | undefined;
let exitHookInstalled = false;

/** Registers the lab's beforeAll/afterAll; the returned function gives the running lab. */
export function useLab(opts: { upTimeoutMs?: number } = {}): () => Lab {
  if (missing) return () => {
    throw new Error(`lab unavailable: ${missing}`);
  };
  beforeAll(async () => {
    installExitHook();
    up = await upLab({ progress: (line) => console.log(line) });
  }, opts.upTimeoutMs ?? 20 * 60_000);
  afterAll(async () => {
    const lab = up;
    up = undefined;
    if (lab && process.env.BRAMBLE_LAB_KEEP && !inCI()) {
      console.log(`lab: kept for a post-mortem (BRAMBLE_LAB_KEEP); remove it with bun scripts/lab/lab.ts down`);
      return;
    }
    if (lab) await lab.down();
    else await downLab();
  }, 120_000);
  return () => {
    if (!up) throw new Error("the lab is not up (did beforeAll fail?)");
    return up;
  };
}

function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on("exit", () => {
    if (!up) return;
    Bun.spawnSync([process.execPath, join(REPO_ROOT, "scripts", "lab", "lab.ts"), "down"], { stdout: "inherit", stderr: "inherit" });
  });
}
