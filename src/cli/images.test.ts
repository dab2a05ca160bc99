import { expect, test } from "bun:test";

const bramble = (...args: string[]) => Bun.spawnSync(["bun", "src/main.ts", ...args], { stderr: "pipe", stdout: "pipe" });

test("images: unknown verbs, missing files and bad flags exit non-zero with one line", () => {
  for (const [args, message] of [
    [["images", "frob"], 'unknown images command "frob"'],
    [["images", "import"], "name at least one image archive"],
    [["images", "import", "/nonexistent.tar"], "/nonexistent.tar: no such file"],
    [["images", "import", "--bogus", "x", "/nonexistent.tar"], "--bogus"],
  ] as const) {
    const r = bramble(...args);
    expect(r.exitCode).not.toBe(0);
    const err = r.stderr.toString().trim();
    expect(err.split("\n")).toHaveLength(1);
    expect(err).toContain(message);
  }
});
