// What a test needs from the machine (a command, a file, root, an engine) and what happens when it
// is missing: the test is skipped with the reason printed, never passed; in CI (CI=true, which
// .ci/run exports after installing every tool the suite uses) a missing requirement fails the
// test file instead, so a broken CI image cannot turn into a green run.
//
//   const skip = requirements("kubectl tests", missingCommand("kubectl"), missingFile("/bin/busybox"));
//   describe.skipIf(!!skip)("...", () => { ... });
import { existsSync } from "node:fs";

/** CI=true (or any value but "", "0", "false"), as CI systems and .ci/run set it. */
export const inCI = (env: Record<string, string | undefined> = process.env) => {
  const v = env.CI?.toLowerCase();
  return v !== undefined && v !== "" && v !== "0" && v !== "false";
};

/**
 * The first missing requirement's reason (printed as SKIPPED), or undefined when all are there.
 * In CI it throws instead: the file fails with the reason.
 */
export function requirements(what: string, ...missing: (string | undefined)[]): string | undefined {
  const reason = missing.find((m) => m !== undefined);
  if (reason === undefined) return undefined;
  if (inCI()) throw new Error(`${what}: ${reason}; CI (CI=true) installs everything the tests use (.ci/run), so a missing requirement is a failure`);
  console.warn(`SKIPPED ${what}: ${reason}`);
  return reason;
}

export const missingCommand = (command: string, hint?: string): string | undefined =>
  Bun.which(command) ? undefined : `${command} is not on PATH${hint ? ` (${hint})` : ""}`;

export const missingFile = (path: string, hint?: string): string | undefined => (existsSync(path) ? undefined : `${path} does not exist${hint ? ` (${hint})` : ""}`);

export const notRoot = (why: string): string | undefined => (process.getuid?.() === 0 ? undefined : `needs root (${why})`);
