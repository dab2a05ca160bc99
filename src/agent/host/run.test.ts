import { describe, expect, test } from "bun:test";
import { inNetns, mustRun, runCommand, type CommandRunner } from "./run.ts";

describe("runCommand", () => {
  test("captures stdout, stderr and the exit code, and feeds stdin", async () => {
    const r = await runCommand(["sh", "-c", "cat; echo err >&2; exit 3"], "hello\n");
    expect(r).toEqual({ code: 3, stdout: "hello\n", stderr: "err\n" });
  });

  test("a missing binary is exit code 127, not a throw", async () => {
    const r = await runCommand(["/nonexistent/bramble-no-such-tool"]);
    expect(r.code).toBe(127);
  });
});

describe("inNetns", () => {
  test("prefixes nsenter with the namespace path", async () => {
    const seen: string[][] = [];
    const base: CommandRunner = async (argv) => {
      seen.push(argv);
      return { code: 0, stdout: "", stderr: "" };
    };
    await inNetns("bpn-x", base)(["ip", "route"]);
    expect(seen).toEqual([["nsenter", "--net=/var/run/netns/bpn-x", "ip", "route"]]);
  });
});

describe("mustRun", () => {
  test("returns stdout on success and throws with stderr on failure", async () => {
    expect(await mustRun(runCommand, ["echo", "ok"])).toBe("ok\n");
    await expect(mustRun(runCommand, ["sh", "-c", "echo bad >&2; exit 1"])).rejects.toThrow(/exit 1\): bad/);
  });
});
