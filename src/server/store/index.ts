// openStore picks a backend from the URL scheme, like kine's --endpoint:
//   file:PATH  (or a bare path) → libSQL file, parent directories created
//   memory:                     → in-process memory store (tests)
import { MemoryStore, type MemoryStoreOptions } from "./memory/memory-store.ts";
import { openLibsqlStore, type LibsqlStoreOptions } from "./libsql/open.ts";
import type { Store } from "./store.ts";

export * from "./store.ts";

export type OpenStoreOptions = LibsqlStoreOptions & MemoryStoreOptions;

export async function openStore(url: string, opts: OpenStoreOptions = {}): Promise<Store> {
  if (url === "memory:" || url.startsWith("memory:")) return new MemoryStore(opts);
  if (url.startsWith("file:")) return openLibsqlStore(fileUrlPath(url), opts);
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1];
  if (scheme && scheme.length > 1) throw new Error(`unsupported datastore endpoint scheme "${scheme}:" (want file: or memory:)`);
  return openLibsqlStore(url, opts);
}

/** The file of an embedded (libSQL) datastore URL; undefined for any other backend. */
export function embeddedStoreFile(url: string): string | undefined {
  if (url.startsWith("memory:")) return undefined;
  if (url.startsWith("file:")) return fileUrlPath(url);
  return /^([a-z][a-z0-9+.-]*):/i.test(url) && !/^[a-z]:[\\/]/i.test(url) ? undefined : url;
}

/** file:/abs/path, file:///abs/path, file:rel/path → a filesystem path. */
export function fileUrlPath(url: string): string {
  const rest = url.slice("file:".length);
  if (rest.startsWith("//")) return decodeURIComponent(new URL(url).pathname);
  if (rest === "") throw new Error("file: datastore endpoint needs a path");
  return rest;
}
