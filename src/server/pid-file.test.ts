import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pidFile, removePidFile, runningServerPid, writePidFile } from "./pid-file";

const tmp = mkdtempSync(join(tmpdir(), "bramble-pid-"));
mkdirSync(join(tmp, "server"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test("a live bramble server process counts as running; a stale or recycled pid does not", async () => {
  expect(runningServerPid(tmp)).toBeUndefined(); // no file
  writePidFile(tmp);
  expect(runningServerPid(tmp)).toBeUndefined(); // this process itself is not "another server"
  removePidFile(tmp);
  expect(existsSync(pidFile(tmp))).toBe(false);

  const server = Bun.spawn([process.execPath, "-e", "setTimeout(() => {}, 30000)", "server"]);
  const other = Bun.spawn(["sleep", "30"]);
  try {
    writeFileSync(pidFile(tmp), `${server.pid}\n`);
    expect(runningServerPid(tmp)).toBe(server.pid);
    writeFileSync(pidFile(tmp), `${other.pid}\n`);
    expect(runningServerPid(tmp)).toBeUndefined();
  } finally {
    server.kill();
    other.kill();
  }
  await server.exited;
  writeFileSync(pidFile(tmp), `${server.pid}\n`);
  expect(runningServerPid(tmp)).toBeUndefined();
  removePidFile(tmp); // not ours: left alone
  expect(existsSync(pidFile(tmp))).toBe(true);
});
