// drizzle-kit reads the store schema and writes plain SQLite SQL into migrations/.
// After `bunx drizzle-kit generate --name <what-changed>`, run `bun migrations/embed.ts` so the
// new file is embedded in the binary (a test fails if you forget).
import { defineConfig } from "drizzle-kit";

export default defineConfig({
  dialect: "sqlite",
  schema: "./src/server/store/libsql/schema.ts",
  out: "./migrations",
});
