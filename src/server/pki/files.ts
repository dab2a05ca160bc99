// Writing secrets safely: write to a temp file with the final mode, then rename, so a crash
// never leaves a half-written key and a key is never readable by others even for a moment.

import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

export function writeFileAtomic(path: string, data: string, mode: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  // writeFileSync's mode is filtered by umask (and ignored if tmp existed): set it explicitly.
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

export function readIfExists(path: string): string | undefined {
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
}
