// `bramble backup [FILE]` and `bramble restore FILE`: snapshots of the embedded datastore, as
// k3s's `etcd-snapshot save` and `--cluster-reset --cluster-reset-restore-path`.
//
// backup opens the store file itself, on this machine, instead of asking the server over the
// network: SQLite in WAL mode lets a second process read a consistent snapshot while the server
// writes (store/libsql/snapshot.ts), it works whether the server runs or not, and it needs exactly
// the access the store already needs (the data dir is root's, 0700). An API endpoint would hand
// every Secret to whoever holds an admin credential, from anywhere the API is reachable.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { hostname } from "node:os";
import { parseFlags, UnexpectedArgument } from "./argv";
import { FlagError, datastoreUrl, nodeName, stringFlag } from "./flags";
import { defaultDataDir, hostFacts } from "./host";
import type { FlagSpec } from "./server";

const DATA_DIR: FlagSpec = { name: "data-dir", value: "<path>", description: "The server's data dir (default: /var/lib/bramble as root, ~/.bramble otherwise)" };
const ENDPOINT: FlagSpec = { name: "datastore-endpoint", value: "<url>", description: "The server's --datastore-endpoint, if it was given one (a file: URL)" };

export const BACKUP_FLAGS: FlagSpec[] = [
  DATA_DIR,
  ENDPOINT,
  { name: "node-name", value: "<name>", description: "Node name in the default file name (default: the hostname)" },
];
export const RESTORE_FLAGS: FlagSpec[] = [DATA_DIR, ENDPOINT];

/** Positional words and flags (every flag here takes a value). */
export function splitArgs(args: readonly string[], specs: readonly FlagSpec[]): { files: string[]; raw: ReturnType<typeof parseFlags> } {
  const flagArgs: string[] = [];
  const files: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith("-") || a === "-") files.push(a);
    else flagArgs.push(a, ...(a.includes("=") || i + 1 >= args.length ? [] : [args[++i]!]));
  }
  return { files, raw: parseFlags(flagArgs, specs) };
}

interface Target {
  dataDir: string;
  dbPath: string;
}

async function target(raw: ReturnType<typeof parseFlags>, command: string): Promise<Target> {
  const dataDir = resolve(stringFlag(raw, "data-dir") ?? defaultDataDir(hostFacts()));
  const { storeFile } = await import("../server/snapshots/files");
  const endpoint = stringFlag(raw, "datastore-endpoint");
  if (endpoint === undefined) return { dataDir, dbPath: storeFile(dataDir) };
  const { embeddedStoreFile } = await import("../server/store/index");
  const path = embeddedStoreFile(datastoreUrl("datastore-endpoint", endpoint));
  if (!path) throw new FlagError("datastore-endpoint", `${command} works on the embedded datastore (a file: URL) only; back up other datastores with their own tools`);
  return { dataDir, dbPath: resolve(path) };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

export async function runBackup(args: readonly string[]): Promise<void> {
  const { files, raw } = splitArgs(args, BACKUP_FLAGS);
  if (files.length > 1) throw new UnexpectedArgument(files[1]!);
  const { dataDir, dbPath } = await target(raw, "backup");
  const { ensureSnapshotDir, snapshotName } = await import("../server/snapshots/files");
  const { takeSnapshot } = await import("../server/store/libsql/snapshot");
  const node = nodeName("node-name", stringFlag(raw, "node-name"), hostname());
  if (!existsSync(dbPath)) throw new Error(`no datastore at ${dbPath} (see --data-dir)`);
  const file = files[0] !== undefined ? resolve(files[0]) : resolve(ensureSnapshotDir(dataDir), snapshotName(node, new Date()));
  const started = performance.now();
  const info = await takeSnapshot(dbPath, file);
  process.stdout.write(`snapshot saved: ${file} (revision ${info.revision}, ${info.keys} objects, ${mb(info.bytes)}, ${Math.round(performance.now() - started)} ms)\n`);
}

export async function runRestore(args: readonly string[]): Promise<void> {
  const { files, raw } = splitArgs(args, RESTORE_FLAGS);
  if (files.length === 0) throw new Error("restore: name the snapshot file to restore (bramble restore FILE)");
  if (files.length > 1) throw new UnexpectedArgument(files[1]!);
  const { dataDir, dbPath } = await target(raw, "restore");
  const { runningServerPid } = await import("../server/pid-file");
  const pid = runningServerPid(dataDir);
  if (pid !== undefined) throw new Error(`restore: a server is running on ${dataDir} (pid ${pid}); stop it first`);
  const { restoreSnapshot } = await import("../server/store/libsql/snapshot");
  const r = await restoreSnapshot(dbPath, resolve(files[0]!));
  const aside = r.previous ? `; the previous store is kept as ${r.previous} until the server next starts cleanly` : "";
  process.stdout.write(`restored ${r.keys} objects at revision ${r.revision} into ${dbPath}${aside}\n`);
  const keys = join(dataDir, "server", "cred", "encryption-config.json");
  const encrypted = existsSync(keys) ? `; encrypted Secrets need the keys they were written with, in ${keys}` : "";
  process.stdout.write(`start the server on ${dataDir}${encrypted}\n`);
}
