import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureSnapshotDir, listSnapshots, parseSnapshotName, removePreRestoreFiles, rotateSnapshots, snapshotDir, snapshotName, snapshotsBeyondRetention } from "./files";

const tmp = mkdtempSync(join(tmpdir(), "bramble-snapshots-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

test("snapshot names carry the node and the unix time, as k3s's", () => {
  expect(snapshotName("pi-1", new Date(1_765_000_000_999))).toBe("bramble-snapshot-pi-1-1765000000");
  expect(parseSnapshotName("bramble-snapshot-pi-1-1765000000")).toEqual({ node: "pi-1", unixTime: 1_765_000_000 });
  expect(parseSnapshotName("bramble-snapshot-pi-1-1765000000.partial")).toBeUndefined();
  expect(parseSnapshotName("state.db")).toBeUndefined();
  expect(snapshotDir("/var/lib/bramble")).toBe("/var/lib/bramble/server/snapshots");
});

test("retention removes the oldest snapshots, by the time in their names, and nothing else", () => {
  const dir = ensureSnapshotDir(join(tmp, "a"));
  expect(statSync(dir).mode & 0o777).toBe(0o700);
  for (const name of ["bramble-snapshot-n-300", "bramble-snapshot-n-100", "bramble-snapshot-m-200", "bramble-snapshot-n-400", "bramble-snapshot-n-500.partial", "notes.txt"]) {
    writeFileSync(join(dir, name), "");
  }
  expect(listSnapshots(dir)).toEqual(["bramble-snapshot-n-100", "bramble-snapshot-m-200", "bramble-snapshot-n-300", "bramble-snapshot-n-400"]);
  expect(snapshotsBeyondRetention(["a", "b", "c"], 5)).toEqual([]);
  expect(snapshotsBeyondRetention(["a", "b", "c"], 1)).toEqual(["a", "b"]);
  expect(rotateSnapshots(dir, 2)).toEqual(["bramble-snapshot-n-100", "bramble-snapshot-m-200"]);
  expect(readdirSync(dir).sort()).toEqual(["bramble-snapshot-n-300", "bramble-snapshot-n-400", "bramble-snapshot-n-500.partial", "notes.txt"]);
  expect(listSnapshots(join(tmp, "none"))).toEqual([]);
});

test("a clean start removes what a restore set aside, and only that", () => {
  const dir = join(tmp, "b");
  mkdirSync(dir);
  for (const name of ["state.db", "state.db-wal", "state.db.pre-restore-1", "state.db.pre-restore-1-wal", "other.db.pre-restore-1"]) writeFileSync(join(dir, name), "");
  expect(removePreRestoreFiles(join(dir, "state.db")).length).toBe(2);
  expect(readdirSync(dir).sort()).toEqual(["other.db.pre-restore-1", "state.db", "state.db-wal"]);
});
