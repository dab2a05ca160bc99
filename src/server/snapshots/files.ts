// Where snapshots go and what they are called, and the retention rotation: k3s's layout, with
// bramble's name. A snapshot is "<data-dir>/server/snapshots/bramble-snapshot-<node>-<unix time>".
import { mkdirSync, readdirSync, rmSync, chmodSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export const SNAPSHOT_PREFIX = "bramble-snapshot";

export const snapshotDir = (dataDir: string) => join(dataDir, "server", "snapshots");

/** The store file of the embedded datastore under a data dir. */
export const storeFile = (dataDir: string) => join(dataDir, "server", "state.db");

/** Creates the snapshot folder owner-only (snapshots hold every Secret). */
export function ensureSnapshotDir(dataDir: string): string {
  const dir = snapshotDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return dir;
}

export function snapshotName(node: string, at: Date): string {
  return `${SNAPSHOT_PREFIX}-${node}-${Math.floor(at.getTime() / 1000)}`;
}

const NAME = new RegExp(`^${SNAPSHOT_PREFIX}-(.+)-(\\d+)$`);

/** node and unix time of a snapshot file name; undefined for anything else (partials, other files). */
export function parseSnapshotName(name: string): { node: string; unixTime: number } | undefined {
  const m = NAME.exec(name);
  return m ? { node: m[1]!, unixTime: Number(m[2]) } : undefined;
}

/** Snapshot file names in dir, oldest first (by the time in the name, then the name). */
export function listSnapshots(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  return names
    .flatMap((name) => {
      const p = parseSnapshotName(name);
      return p ? [{ name, t: p.unixTime }] : [];
    })
    .sort((a, b) => a.t - b.t || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((s) => s.name);
}

/** Which snapshots to remove so that `retention` remain: the oldest. */
export function snapshotsBeyondRetention(names: readonly string[], retention: number): string[] {
  return names.slice(0, Math.max(0, names.length - Math.max(1, retention)));
}

/** Removes the oldest snapshots in dir beyond `retention`; returns the names removed. */
export function rotateSnapshots(dir: string, retention: number): string[] {
  const gone = snapshotsBeyondRetention(listSnapshots(dir), retention);
  for (const name of gone) rmSync(join(dir, name), { force: true });
  return gone;
}

/** Removes the store files a restore set aside ("<db>.pre-restore-<unix time>" and its -wal/-shm). */
export function removePreRestoreFiles(dbPath: string): string[] {
  const dir = dirname(dbPath);
  const prefix = `${basename(dbPath)}.pre-restore-`;
  const gone: string[] = [];
  for (const name of readdirSync(dir)) {
    if (!name.startsWith(prefix)) continue;
    rmSync(join(dir, name), { force: true });
    gone.push(join(dir, name));
  }
  return gone;
}
