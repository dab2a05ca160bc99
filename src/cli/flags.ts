// Turning flag text into checked values. Every failure is a FlagError whose message names the
// flag, so the user gets one line saying exactly what to fix.

import { accessSync, constants, mkdirSync } from "node:fs";
import { resolve } from "node:path";
import { isDns1123Subdomain } from "../api/validation";
import { isIPv4 } from "../api/ip";
import { parseCidr } from "../machinery/cidr";

export class FlagError extends Error {
  constructor(
    readonly flag: string,
    problem: string,
  ) {
    super(`--${flag}: ${problem}`);
  }
}

/** Flag values as they arrive from the command line: text, a bare boolean flag, or absent. */
export type RawFlags = Record<string, string | boolean | undefined>;

export function stringFlag(raw: RawFlags, flag: string): string | undefined {
  const v = raw[flag];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new FlagError(flag, "a value is required");
  return v;
}

export function boolFlag(raw: RawFlags, flag: string): boolean {
  const v = raw[flag];
  if (v === undefined || v === false) return false;
  if (v === true) return true;
  if (v === "true") return true;
  if (v === "false") return false;
  throw new FlagError(flag, `"${v}" is not true or false`);
}

export function port(flag: string, text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) < 1 || Number(text) > 65535) {
    throw new FlagError(flag, `"${text}" is not a valid port (1-65535)`);
  }
  return Number(text);
}

export function portRange(flag: string, text: string): [number, number] {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(text);
  const [lo, hi] = m ? [Number(m[1]), Number(m[2])] : [NaN, NaN];
  if (!m || lo < 1 || hi > 65535 || lo > hi) {
    throw new FlagError(flag, `"${text}" is not a valid port range (e.g. 30000-32767)`);
  }
  return [lo, hi];
}

export function ipv4(flag: string, text: string, opts: { allowUnspecified: boolean }): string {
  if (!isIPv4(text)) throw new FlagError(flag, `"${text}" is not a valid IPv4 address`);
  if (!opts.allowUnspecified && text === "0.0.0.0") throw new FlagError(flag, `"0.0.0.0" cannot be dialed; give a concrete address`);
  return text;
}

export function cidr(flag: string, text: string): string {
  try {
    parseCidr(text);
  } catch {
    throw new FlagError(flag, `"${text}" is not a valid CIDR`);
  }
  return text;
}

/** A datastore URL needs a scheme ("file:", later "postgres://"); the store rejects unknown ones. */
export function datastoreUrl(flag: string, text: string): string {
  if (!/^[a-z][a-z0-9+.-]+:/i.test(text)) {
    throw new FlagError(flag, `"${text}" is not a datastore URL (e.g. file:/var/lib/bramble/server/state.db)`);
  }
  return text;
}

/** A Go-style duration ("20s", "1m30s", "500ms") or plain seconds, in seconds. */
export function durationSeconds(flag: string, text: string): number {
  const unit: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600 };
  if (/^\d+$/.test(text)) return Number(text);
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== text) {
    throw new FlagError(flag, `"${text}" is not a duration (e.g. 20s, 1m30s)`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * unit[p[2]!]!, 0);
}

export function nonNegativeInt(flag: string, text: string): number {
  if (!/^\d{1,9}$/.test(text)) throw new FlagError(flag, `"${text}" is not a non-negative whole number`);
  return Number(text);
}

export function oneOf<T extends string>(flag: string, text: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(text)) throw new FlagError(flag, `"${text}" is not one of ${allowed.join(", ")}`);
  return text as T;
}

export function token(flag: string, text: string): string {
  if (!/^[\x21-\x7e]+$/.test(text)) throw new FlagError(flag, "must be non-empty printable ASCII without spaces");
  return text;
}

/**
 * Creates the directory if needed and checks it is writable, so a typo or a read-only mount is
 * reported against the flag at start-up instead of as a crash deep inside the store.
 */
export function writableDir(flag: string, path: string): string {
  const abs = resolve(path);
  try {
    mkdirSync(abs, { recursive: true });
    accessSync(abs, constants.W_OK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? "error";
    throw new FlagError(flag, `"${path}" is not a writable directory (${code})`);
  }
  return abs;
}

/** A node's name: DNS-1123 subdomain; the machine's hostname (lower-cased) by default. */
export function nodeName(flag: string, text: string | undefined, hostName: string): string {
  const name = text ?? hostName.toLowerCase();
  const problem = isDns1123Subdomain(name)[0];
  if (problem) throw new FlagError(flag, `"${name}" is not a valid node name: ${problem}`);
  return name;
}
