// Running host commands (ip, iptables-restore, sysctl) through one small seam, so the code that
// programs the node can be tested against a recorder, and the real-kernel tests can point the
// same code at a network namespace they created.

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs argv (no shell), optionally feeding stdin; never throws for a non-zero exit. */
export type CommandRunner = (argv: string[], stdin?: string) => Promise<CommandResult>;

/** Runs the command on this host with Bun.spawn. A missing binary is reported as code 127. */
export const runCommand: CommandRunner = async (argv, stdin) => {
  let proc;
  try {
    proc = Bun.spawn(argv, {
      stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin),
      stdout: "pipe",
      stderr: "pipe",
    });
  } catch (err) {
    return { code: 127, stdout: "", stderr: `${argv[0]}: ${(err as Error).message}` };
  }
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr };
};

/**
 * A runner that executes every command inside the named network namespace (as created by
 * `ip netns add <name>`). nsenter, not `ip netns exec`: the latter remounts /sys, which
 * breaks some tools, and only the network namespace matters here.
 */
export function inNetns(name: string, base: CommandRunner = runCommand): CommandRunner {
  return (argv, stdin) => base(["nsenter", `--net=/var/run/netns/${name}`, ...argv], stdin);
}

/** Runs a command and throws with its stderr when it fails; for steps that must succeed. */
export async function mustRun(run: CommandRunner, argv: string[], stdin?: string): Promise<string> {
  const r = await run(argv, stdin);
  if (r.code !== 0) throw new Error(`${argv.join(" ")} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}
