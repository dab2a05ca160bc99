// The real HostReader: synchronous reads of small kernel files and statfs (each well under a
// millisecond), so one observation never interleaves with another.
import { readFileSync, statSync, statfsSync } from "node:fs";
import type { FsStats, HostReader } from "./signals";

export const hostReader: HostReader = {
  readFile(path) {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
  },
  statfs(path): FsStats | undefined {
    try {
      const s = statfsSync(path);
      return { bavail: Number(s.bavail), bsize: Number(s.bsize), blocks: Number(s.blocks), ffree: Number(s.ffree), files: Number(s.files) };
    } catch {
      return undefined;
    }
  },
  device(path) {
    try {
      return Number(statSync(path).dev);
    } catch {
      return undefined;
    }
  },
};
