// The layering DESIGN.md fixes — cli → server | agent → client | machinery → api — checked on
// the import statements of every source file (tests and test helpers may reach further), and
// what an agent process really loads: the agent's memory budget (60 MB) has no room for the
// server's libraries, and one value import of a resource schema brings all of TypeBox back.
import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const SRC = import.meta.dir;

/** What each top-level part of src/ may import besides itself. */
const MAY_IMPORT: Record<string, string[]> = {
  main: ["cli"],
  cli: ["server", "agent", "client", "machinery", "api"],
  server: ["client", "machinery", "api"],
  agent: ["client", "machinery", "api"],
  client: ["machinery", "api"],
  machinery: ["api"],
  api: [],
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith(".ts") && !path.endsWith(".test.ts") && !path.endsWith("/testing.ts") ? [path] : [];
  });
}

const partOf = (path: string) => relative(SRC, path).split("/")[0]!.replace(/\.ts$/, "");

test("imports go one way: cli → server | agent → client | machinery → api", () => {
  const violations: string[] = [];
  for (const file of sourceFiles(SRC)) {
    const from = partOf(file);
    for (const m of readFileSync(file, "utf8").matchAll(/(?:from\s+|import\s*\(\s*)"(\.[^"]+)"/g)) {
      const target = resolve(dirname(file), m[1]!);
      if (!target.startsWith(SRC + "/")) continue; // package.json, migrations/
      const to = partOf(target);
      if (to !== from && !MAY_IMPORT[from]?.includes(to)) violations.push(`${relative(SRC, file)} imports ${m[1]}`);
    }
  }
  expect(violations).toEqual([]);
});

test("an agent process loads none of the server's libraries", () => {
  const probe = Bun.spawnSync({
    cmd: ["bun", "-e", `await import(${JSON.stringify(join(SRC, "agent/agent.ts"))}); console.log(JSON.stringify(Object.keys(require.cache)))`],
    stdout: "pipe",
    stderr: "pipe",
  });
  expect(probe.exitCode).toBe(0);
  const loaded = JSON.parse(probe.stdout.toString()) as string[];
  expect(loaded.length).toBeGreaterThan(20); // the probe really saw the agent's module graph
  const heavy = loaded.filter((p) => /node_modules\/(@sinclair\/typebox|jose|@peculiar|dockerode|docker-modem|ssh2|@libsql|drizzle-orm|hono)\//.test(p) || p.includes("/src/server/"));
  expect(heavy).toEqual([]);
});
