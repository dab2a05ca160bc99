// The kine-shaped store contract. Keys are opaque strings ("/registry/pods/default/web");
// values are serialized objects. Every write bumps one cluster-wide revision, which the API
// exposes as resourceVersion. Nothing here is SQLite-specific, so an external backend (HA) can
// implement the same interface later.

export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the write that created this key (etcd's create_revision). */
  createRevision: number;
  /** Revision of the last write to this key (etcd's mod_revision); the resourceVersion. */
  modRevision: number;
}

export type WatchEventType = "create" | "update" | "delete";

export interface WatchEvent {
  type: WatchEventType;
  /** For create/update, the new state; for delete, the last state, with modRevision = the delete's revision. */
  kv: KeyValue;
  /** For update/delete, the state before this event. */
  prev?: KeyValue;
  revision: number;
}

export interface ListResult {
  items: KeyValue[];
  /** The store revision the list is consistent with. */
  revision: number;
}

export interface WriteOptions {
  /**
   * false: a deferred write (heartbeats). It takes the next revision, is visible to get, list
   * and watch, and counts for compare-and-swap at once, exactly like a durable write, but it is
   * persisted later: when a durable write touches the same key, at the next periodic flush, on
   * flush() or on close(). A crash (kill -9, power cut) may lose it; revisions handed out are
   * never reused, even then. Default true: the write is on disk when the promise resolves.
   */
  durable?: boolean;
}

export interface ListOptions {
  /** Return only keys strictly greater than this (pagination). */
  startAfter?: string;
  limit?: number;
}

/** Thrown by create when the key exists. */
export class KeyExistsError extends Error {
  constructor(readonly key: string) {
    super(`key exists: ${key}`);
  }
}

/** Thrown by update/delete when the key does not exist. */
export class KeyNotFoundError extends Error {
  constructor(readonly key: string) {
    super(`key not found: ${key}`);
  }
}

/** Thrown by update/delete when the key's current modRevision differs from the expected one. */
export class RevisionConflictError extends Error {
  constructor(
    readonly key: string,
    readonly current: KeyValue,
  ) {
    super(`revision conflict on ${key}`);
  }
}

/**
 * Thrown by a write the backend could not store because its disk is full. Nothing of the write
 * (nor of the writes committed with it) is stored; writes succeed again once space is freed.
 */
export class StorageFullError extends Error {
  constructor(readonly detail: string) {
    super(`the datastore is out of disk space (${detail}); free space on its disk and writes resume`);
  }
}

/** Thrown by watch when the requested revision is older than the retained history. */
export class CompactedError extends Error {
  constructor(
    readonly requested: number,
    readonly compacted: number,
  ) {
    super(`revision ${requested} has been compacted (oldest retained: ${compacted + 1})`);
  }
}

/** Maps a stored value to its replacement, or undefined to leave it (see Store.rewriteValues). */
export type ValueRewrite = (key: string, value: string) => string | undefined;

export interface RewriteOptions {
  /**
   * Also clear the free space of the backend's files (SQLite: VACUUM, then an emptied WAL), so
   * values deleted or compacted away before the rewrite leave no bytes behind either.
   */
  scrubFreeSpace?: boolean;
}

export interface Watch {
  stop(): void;
}

export interface Store {
  get(key: string): Promise<KeyValue | undefined>;
  /** All keys starting with prefix, in key order. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  create(key: string, value: string): Promise<KeyValue>;
  /** Compare-and-swap: succeeds only if the key's modRevision equals expectedRevision. */
  update(key: string, value: string, expectedRevision: number, opts?: WriteOptions): Promise<KeyValue>;
  /** Deletes the key; if expectedRevision is given, only when it matches. Returns the deleted state. */
  delete(key: string, expectedRevision?: number): Promise<KeyValue>;
  /**
   * Streams every event on keys under prefix with revision > fromRevision, in revision order,
   * first replaying retained history, then live events. Throws CompactedError if fromRevision
   * is older than the retained window. fromRevision 0 means "from now".
   */
  watch(prefix: string, fromRevision: number, onEvent: (e: WatchEvent) => void): Watch;
  currentRevision(): Promise<number>;
  /** Oldest revision still available to watch from (events after it are retained). */
  compactedRevision(): Promise<number>;
  /** Drops history up to and including revision (never current values). */
  compact(revision: number): Promise<void>;
  /**
   * Rewrites stored values in place: every row of every key under prefix, current values and
   * retained history alike, whose value rewrite maps to a new string (a re-encryption: the value
   * means the same). Revisions do not change and no watch event is sent. Each row is rewritten
   * atomically, so a crash leaves every row either old or new. A rewrite that always returns
   * undefined is a read-only scan. Returns how many rows were rewritten. Optional: only backends
   * that keep values at rest have it.
   */
  rewriteValues?(prefix: string, rewrite: ValueRewrite, opts?: RewriteOptions): Promise<number>;
  /** Persists every deferred write now (see WriteOptions.durable). */
  flush(): Promise<void>;
  /** Persists deferred writes, then releases the store. */
  close(): Promise<void>;
}
