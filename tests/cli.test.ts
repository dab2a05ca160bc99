// The command line as a user meets it: a real `bramble` process, its exit code and output.

import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pkg from "../package.json" with { type: "json" };
import { SERVER_FLAGS } from "../src/cli/server";
import { testEnv } from "./helpers/env";

const MAIN = join(import.meta.dir, "..", "src", "main.ts");
const tmp = mkdtempSync(join(tmpdir(), "bramble-cli-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function bramble(...args: string[]) {
  const p = Bun.spawnSync([process.execPath, MAIN, ...args], { env: testEnv({}, tmp), timeout: 30_000 });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

test("version prints the package version and build info", () => {
  for (const args of [["version"], ["--version"]]) {
    const r = bramble(...args);
    expect(r.code).toBe(0);
    expect(r.stdout).toStartWith(`bramble version v${pkg.version} (from source)\nbun ${Bun.version} `);
  }
});

test("server --help documents every flag", () => {
  const r = bramble("server", "--help");
  expect(r.code).toBe(0);
  for (const f of SERVER_FLAGS) expect(r.stdout).toContain(`--${f.name}`);
  for (const name of ["data-dir", "bind-address", "https-listen-port", "advertise-address", "datastore-endpoint", "cluster-cidr", "service-cidr", "service-node-port-range", "write-kubeconfig", "disable-agent", "token"]) {
    expect(r.stdout).toContain(`--${name}`);
  }
});

test("top-level help lists the commands", () => {
  const r = bramble("--help");
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("server");
  expect(r.stdout).toContain("version");
});

describe("bad input exits non-zero with one line naming the problem", () => {
  const notADir = join(tmp, "a-file");
  writeFileSync(notADir, "");
  const cases: Array<[string[], string]> = [
    [["--service-cidr", "10.43.0.0/33"], 'bramble: --service-cidr: "10.43.0.0/33" is not a valid CIDR'],
    [["--cluster-cidr=10.42.0.0"], 'bramble: --cluster-cidr: "10.42.0.0" is not a valid CIDR'],
    [["--service-cidr", "10.42.0.0/24"], 'bramble: --service-cidr: "10.42.0.0/24" overlaps --cluster-cidr "10.42.0.0/16"'],
    [["--https-listen-port", "70000"], 'bramble: --https-listen-port: "70000" is not a valid port (1-65535)'],
    [["--https-listen-port", "0"], 'bramble: --https-listen-port: "0" is not a valid port (1-65535)'],
    [["--https-listen-port", "1e3"], 'bramble: --https-listen-port: "1e3" is not a valid port (1-65535)'],
    [["--service-node-port-range", "32767-30000"], 'bramble: --service-node-port-range: "32767-30000" is not a valid port range (e.g. 30000-32767)'],
    [["--bind-address", "1.2.3"], 'bramble: --bind-address: "1.2.3" is not a valid IPv4 address'],
    [["--advertise-address", "0.0.0.0"], 'bramble: --advertise-address: "0.0.0.0" cannot be dialed; give a concrete address'],
    [["--datastore-endpoint", "state.db"], 'bramble: --datastore-endpoint: "state.db" is not a datastore URL (e.g. file:/var/lib/bramble/server/state.db)'],
    [["--data-dir", join(notADir, "sub")], `bramble: --data-dir: "${join(notADir, "sub")}" is not a writable directory (ENOTDIR)`],
    [["--no-such-flag"], "bramble: --no-such-flag: unknown flag"],
    [["--token"], "bramble: --token: a value is required"],
    [["--disable-agent=maybe"], 'bramble: --disable-agent: "maybe" is not true or false'],
    [["extra"], 'bramble: unexpected argument "extra"'],
  ];
  for (const [args, line] of cases) {
    test(args.join(" "), () => {
      const r = bramble("server", "--data-dir", join(tmp, "data"), ...args);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toBe(line + "\n");
      expect(r.stdout).toBe("");
    });
  }

  test("unknown command", () => {
    const r = bramble("frobnicate");
    expect(r.code).not.toBe(0);
    expect(r.stderr).toBe('bramble: unknown command "frobnicate" (see bramble --help)\n');
  });
});
