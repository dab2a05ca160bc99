// Read queries, through drizzle. Writes go through group-commit.ts instead (plain SQL built
// once per batch shape: the hot path cannot afford a query builder per row).
import { and, asc, desc, eq, gt, lte, ne, sql, type SQL } from "drizzle-orm";
import { alias } from "drizzle-orm/sqlite-core";
import type { LibSQLDatabase } from "drizzle-orm/libsql";
import { prefixEnd } from "../keys.ts";
import type { KeyValue, ListOptions, ListResult, WatchEvent } from "../store.ts";
import { COMPACTED_REVISION, RESERVED_REVISION, kv, meta } from "./schema.ts";
import type { Revisions } from "./revision-index.ts";

export type Db = LibSQLDatabase<Record<string, never>>;

const prevRow = alias(kv, "prev");

function keyUnder(prefix: string, { useIndex = true } = {}): SQL | undefined {
  if (prefix === "") return undefined;
  const key = useIndex ? sql`${kv.key}` : sql`+${kv.key}`;
  const end = prefixEnd(prefix);
  return end === undefined ? sql`${key} >= ${prefix}` : sql`${key} >= ${prefix} AND ${key} < ${end}`;
}

/** A key's current value lives in its newest row (if that row is not a tombstone). */
const isNewestRow = sql`${kv.revision} = (SELECT max(newer.revision) FROM kv AS newer WHERE newer.key = ${kv.key})`;

/**
 * The store's revision as of the same snapshot: the newest row, or the compacted revision if
 * compaction removed that row (a tombstone at the head).
 */
function storeRevisionQuery(db: Db) {
  return db.get<{ revision: number }>(sql`SELECT max(
    coalesce((SELECT max(revision) FROM kv), 0),
    coalesce((SELECT value FROM meta WHERE name = ${COMPACTED_REVISION}), 0)) AS revision`);
}

export async function readStoreRevision(db: Db): Promise<number> {
  return Number((await storeRevisionQuery(db))?.revision ?? 0);
}

export async function readCompactedRevision(db: Db): Promise<number> {
  const rows = await db.select({ value: meta.value }).from(meta).where(eq(meta.name, COMPACTED_REVISION));
  return rows[0]?.value ?? 0;
}

export async function getLatest(db: Db, key: string): Promise<KeyValue | undefined> {
  const rows = await db
    .select({ value: kv.value, createRevision: kv.createRevision, modRevision: kv.revision, deleted: kv.deleted })
    .from(kv)
    .where(eq(kv.key, key))
    .orderBy(desc(kv.revision))
    .limit(1);
  const row = rows[0];
  if (!row || row.deleted) return undefined;
  return { key, value: row.value, createRevision: row.createRevision, modRevision: row.modRevision };
}

export async function getValueAt(db: Db, revision: number): Promise<string | undefined> {
  const rows = await db.select({ value: kv.value }).from(kv).where(eq(kv.revision, revision));
  return rows[0]?.value;
}

export async function listLatest(db: Db, prefix: string, opts: ListOptions): Promise<ListResult> {
  const conditions = [keyUnder(prefix), eq(kv.deleted, false), isNewestRow];
  if (opts.startAfter !== undefined) conditions.push(gt(kv.key, opts.startAfter));
  const itemsQuery = db
    .select({ key: kv.key, value: kv.value, createRevision: kv.createRevision, modRevision: kv.revision })
    .from(kv)
    .where(and(...conditions))
    .orderBy(asc(kv.key))
    .limit(opts.limit !== undefined && opts.limit > 0 ? opts.limit : -1);
  // One batch = one transaction, so the revision matches the items exactly.
  const [items, revision] = await db.batch([itemsQuery, storeRevisionQuery(db)]);
  return { items, revision: Number(revision?.revision ?? 0) };
}

/** Events on keys under prefix with revision > after, oldest first (watch replay). */
export async function readHistory(db: Db, prefix: string, after: number, limit: number): Promise<WatchEvent[]> {
  const rows = await db
    .select({
      revision: kv.revision,
      key: kv.key,
      value: kv.value,
      createRevision: kv.createRevision,
      prevRevision: kv.prevRevision,
      deleted: kv.deleted,
      prevValue: prevRow.value,
      prevCreateRevision: prevRow.createRevision,
    })
    .from(kv)
    .leftJoin(prevRow, eq(prevRow.revision, kv.prevRevision))
    // Walk the log by revision and filter keys as it goes ("+" keeps SQLite off the key index):
    // the history after a watch's start is short, while a wide prefix covers most keys.
    .where(and(gt(kv.revision, after), keyUnder(prefix, { useIndex: false })))
    .orderBy(asc(kv.revision))
    .limit(limit);
  return rows.map((row): WatchEvent => {
    const prev: KeyValue | undefined =
      row.prevRevision === 0
        ? undefined
        : {
            key: row.key,
            value: row.prevValue ?? "",
            createRevision: row.prevCreateRevision ?? row.createRevision,
            modRevision: row.prevRevision,
          };
    if (row.deleted) {
      const last = { key: row.key, value: prev?.value ?? "", createRevision: row.createRevision, modRevision: row.revision };
      return { type: "delete", kv: last, prev, revision: row.revision };
    }
    const current = { key: row.key, value: row.value, createRevision: row.createRevision, modRevision: row.revision };
    return prev ? { type: "update", kv: current, prev, revision: row.revision } : { type: "create", kv: current, revision: row.revision };
  });
}

/** Every live key's revisions (start-up): SQLite takes the bare columns from the max() row. */
export async function readLiveRevisions(db: Db): Promise<Array<{ key: string } & Revisions>> {
  const rows = await db
    .select({
      key: kv.key,
      createRevision: kv.createRevision,
      modRevision: sql<number>`max(${kv.revision})`.mapWith(Number),
      deleted: kv.deleted,
    })
    .from(kv)
    .groupBy(kv.key);
  return rows.filter((r) => !r.deleted);
}

/**
 * One compaction step over revisions (from, to]: drop every row superseded by a row in that
 * range, and the range's tombstones, and record progress, in one short transaction. A range
 * with no rows at all (deferred writes' revisions never became rows) costs a read and no write:
 * there is nothing to drop, and the recorded progress may lag (redoing an empty range is free).
 * Returns whether it wrote.
 */
export async function compactRange(db: Db, from: number, to: number): Promise<boolean> {
  const inRange = and(gt(kv.revision, from), lte(kv.revision, to));
  const any = await db.select({ revision: kv.revision }).from(kv).where(inRange).limit(1);
  if (any.length === 0) return false;
  const supersededRows = db
    .select({ revision: kv.prevRevision })
    .from(kv)
    .where(and(inRange, ne(kv.prevRevision, 0)));
  await db.batch([
    db.delete(kv).where(sql`${kv.revision} IN ${supersededRows}`),
    db.delete(kv).where(and(inRange, eq(kv.deleted, true))),
    db
      .insert(meta)
      .values({ name: COMPACTED_REVISION, value: to })
      .onConflictDoUpdate({ target: meta.name, set: { value: to } }),
  ]);
  return true;
}

/** Rows with revision in (from, to]. */
export async function countRows(db: Db, from: number, to: number): Promise<number> {
  const rows = await db.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(kv).where(and(gt(kv.revision, from), lte(kv.revision, to)));
  return rows[0]?.n ?? 0;
}

/** The reservation for deferred writes (deferred.ts); 0 when none was ever made. */
export async function readReservedRevision(db: Db): Promise<number> {
  const rows = await db.select({ value: meta.value }).from(meta).where(eq(meta.name, RESERVED_REVISION));
  return rows[0]?.value ?? 0;
}

/** Stored rows (not tombstones) of keys under prefix with revision > after, oldest first (rewrites). */
export async function readValues(db: Db, prefix: string, after: number, limit: number): Promise<Array<{ revision: number; key: string; value: string }>> {
  return db
    .select({ revision: kv.revision, key: kv.key, value: kv.value })
    .from(kv)
    .where(and(gt(kv.revision, after), eq(kv.deleted, false), keyUnder(prefix, { useIndex: false })))
    .orderBy(asc(kv.revision))
    .limit(limit);
}
