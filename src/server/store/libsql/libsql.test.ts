import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { storeContract } from "../contract.ts";
import { openStore } from "../index.ts";

storeContract("libsql", () => {
  let dir: string | undefined;
  return {
    persistent: true,
    async open() {
      dir ??= await mkdtemp(join(tmpdir(), "bramble-store-"));
      // Background maintenance off: the contract drives compaction itself.
      return openStore(`file:${join(dir, "nested", "state.db")}`, { compactIntervalMs: 0, checkpointIntervalMs: 0 });
    },
    async cleanup() {
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
});
