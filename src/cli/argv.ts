// Reads a subcommand's flags verbatim from argv. cac (through mri) turns numeric-looking values
// into numbers ("--token 0123" → 123, "--https-listen-port 1e3" → 1000), which would silently
// change what the user typed; flags are validated from their exact text instead.

import { FlagError, type RawFlags } from "./flags";

export interface FlagShape {
  name: string;
  /** Present for flags that take a value; boolean flags have none. */
  value?: string;
}

export function parseFlags(args: readonly string[], specs: readonly FlagShape[]): RawFlags {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const out: RawFlags = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      if (i + 1 < args.length) throw new UnexpectedArgument(args[i + 1]!);
      break;
    }
    // Go's flag package (k3s, kubectl) accepts -flag as well as --flag.
    const m = /^--?([^=]+)(?:=(.*))?$/s.exec(arg);
    if (!m || arg === "-") throw new UnexpectedArgument(arg);
    const [, name, inline] = m as unknown as [string, string, string | undefined];
    const spec = byName.get(name);
    if (!spec) throw new FlagError(name, "unknown flag");
    if (!spec.value) {
      out[name] = inline === undefined ? true : inline;
      continue;
    }
    if (inline !== undefined) {
      out[name] = inline;
      continue;
    }
    const next = args[i + 1];
    if (next === undefined || next.startsWith("--")) throw new FlagError(name, "a value is required");
    out[name] = next;
    i++;
  }
  return out;
}

export class UnexpectedArgument extends Error {
  constructor(readonly arg: string) {
    super(`unexpected argument "${arg}"`);
  }
}
