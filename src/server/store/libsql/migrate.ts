// Applies the embedded migrations (migrations/index.ts) at start-up. drizzle-orm's own
// migrator reads migrations/ from disk, which a compiled single binary does not have, so this
// does the same job from strings and keeps drizzle's bookkeeping table and rule (apply every
// migration whose journal timestamp is newer than the last one recorded), so drizzle-kit
// tooling sees the same state.
import type { Client } from "@libsql/client";
import { migrations, type EmbeddedMigration } from "../../../../migrations/index.ts";

const MIGRATIONS_TABLE = "__drizzle_migrations";
const STATEMENT_BREAKPOINT = "--> statement-breakpoint";

export async function applyMigrations(client: Client, all: readonly EmbeddedMigration[] = migrations): Promise<number> {
  await client.execute(
    `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)`,
  );
  const last = await client.execute(`SELECT created_at FROM ${MIGRATIONS_TABLE} ORDER BY created_at DESC LIMIT 1`);
  const lastApplied = last.rows.length > 0 ? Number(last.rows[0]!.created_at) : -1;
  const pending = all.filter((m) => m.when > lastApplied);
  if (pending.length === 0) return 0;

  const statements = pending.flatMap((m) => [
    ...m.sql
      .split(STATEMENT_BREAKPOINT)
      .map((s) => s.trim())
      .filter((s) => s.length > 0),
    {
      sql: `INSERT INTO ${MIGRATIONS_TABLE} (hash, created_at) VALUES (?, ?)`,
      args: [new Bun.CryptoHasher("sha256").update(m.sql).digest("hex"), m.when],
    },
  ]);
  // One transaction: a crash mid-migration leaves the previous schema, never half of the new one.
  await client.batch(statements, "write");
  return pending.length;
}
