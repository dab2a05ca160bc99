import { expect, test } from "bun:test";
import { createClient } from "@libsql/client";
import journal from "../../../../migrations/meta/_journal.json";
import { migrations } from "../../../../migrations/index.ts";
import { applyMigrations } from "./migrate.ts";

test("every migration in drizzle's journal is embedded (run `bun migrations/embed.ts` if not)", async () => {
  expect(migrations.map((m) => m.tag)).toEqual(journal.entries.map((e) => e.tag));
  for (const m of migrations) {
    expect(m.sql).toBe(await Bun.file(new URL(`../../../../migrations/${m.tag}.sql`, import.meta.url)).text());
  }
});

test("migrations apply once and are skipped when already applied", async () => {
  const client = createClient({ url: ":memory:" });
  expect(await applyMigrations(client)).toBe(migrations.length);
  expect(await applyMigrations(client)).toBe(0);
  const tables = await client.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name");
  expect(tables.rows.map((r) => r.name)).toEqual(expect.arrayContaining(["kv", "meta", "__drizzle_migrations"]));
  client.close();
});
