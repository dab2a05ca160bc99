// The store's tables, kine-shaped: `kv` is an event log with one row per revision. The newest
// row of a key is its current value (or a tombstone); older rows are history kept for watch
// resume until compaction drops them. SQL is generated from this file by drizzle-kit into
// migrations/ (`bunx drizzle-kit generate --name <what-changed>`), never written by hand.
import { index, integer, sqliteTable, text } from "drizzle-orm/sqlite-core";

export const kv = sqliteTable(
  "kv",
  {
    /** The cluster-wide revision of the write that produced this row (rowid alias, assigned by the store). */
    revision: integer("revision").primaryKey(),
    key: text("key").notNull(),
    /** The value written; empty for tombstones (a delete's last state is its prev row). */
    value: text("value").notNull(),
    createRevision: integer("create_revision").notNull(),
    /** Revision of the row this one supersedes; 0 for a create. Compaction uses it to find dead rows. */
    prevRevision: integer("prev_revision").notNull(),
    deleted: integer("deleted", { mode: "boolean" }).notNull(),
  },
  // (key, revision): latest-row-per-key lookups for get and list.
  (table) => [index("kv_key_revision").on(table.key, table.revision)],
);

/** Small named counters that must survive restarts (the compacted and reserved revisions). */
export const meta = sqliteTable("meta", {
  name: text("name").primaryKey(),
  value: integer("value").notNull(),
});

export const COMPACTED_REVISION = "compacted_revision";
/** Revisions up to here may have gone to deferred writes that never reached the log (deferred.ts). */
export const RESERVED_REVISION = "reserved_revision";
