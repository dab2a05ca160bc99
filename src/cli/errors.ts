// How any command fails: one line on stderr, "bramble: <what to fix>", and a non-zero exit.
// Stack traces are for bugs; set BRAMBLE_LOG_LEVEL=debug to see them.

export function reportAndExit(e: unknown): never {
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`bramble: ${message.split("\n")[0]}\n`);
  if (process.env.BRAMBLE_LOG_LEVEL === "debug" && e instanceof Error && e.stack) process.stderr.write(e.stack + "\n");
  process.exit(1);
}
