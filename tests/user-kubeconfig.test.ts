// Kubeconfigs for people against a `bramble server` process with the real kubectl: a credential
// made by `bramble kubeconfig create` is refused with kube-apiserver's words until a RoleBinding
// gives its user `view` in one namespace (and only there); whoami shows the user and groups; an
// expired or revoked credential gets 401; bad input gets one line and a non-zero exit.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testEnv } from "./helpers/env";
import { startTestServer, type TestServer } from "./helpers/server";

setDefaultTimeout(60_000);

const MAIN = join(import.meta.dir, "..", "src", "main.ts");
const UNAUTHORIZED = "error: You must be logged in to the server (Unauthorized)";

describe("bramble kubeconfig", () => {
  let s: TestServer;
  let dir: string;
  const bramble = async (...args: string[]) => {
    const admin = args.includes("--kubeconfig") ? [] : ["--kubeconfig", s.kubeconfig];
    const p = Bun.spawn([process.execPath, MAIN, "kubeconfig", ...args, ...admin], { stdout: "pipe", stderr: "pipe", env: testEnv() });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, stdout, stderr };
  };
  const as = async (file: string, ...args: string[]) => {
    const p = Bun.spawn(["kubectl", "--kubeconfig", file, "--cache-dir", join(dir, "cache"), "--request-timeout=20s", ...args], { stdout: "pipe", stderr: "pipe", env: testEnv() });
    const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, stdout, stderr };
  };
  const ok = async (...args: string[]) => {
    const r = await s.kubectl(...args);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const create = async (file: string, ...args: string[]) => {
    const r = await bramble("create", "-o", join(dir, file), ...args);
    if (r.code !== 0) throw new Error(`bramble kubeconfig create: ${r.stderr}`);
    return join(dir, file);
  };
  let alice: string;
  let short: string;
  let shortExpires: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "bramble-users-"));
    s = await startTestServer();
    await ok("create", "namespace", "family");
    // The short-lived one first, so it has expired by the time it is tried.
    const before = Date.now();
    short = await create("short.kubeconfig", "--user", "bob", "--ttl", "1s");
    shortExpires = Math.ceil(before / 1000) * 1000 + 1000;
    alice = await create("alice.kubeconfig", "--user", "alice", "--group", "family", "--group", "kids", "--namespace", "family");
  });
  afterAll(async () => {
    await s?.cleanup();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("alice is forbidden until bound; then views her namespace only; whoami names her and her groups", async () => {
    expect(statSync(alice).mode & 0o777).toBe(0o600);
    expect(readFileSync(alice, "utf8")).toContain("namespace: family");
    const before = await as(alice, "get", "pods");
    expect(before.code).not.toBe(0);
    expect(before.stderr).toContain('Error from server (Forbidden): pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "family"');

    const who = await as(alice, "auth", "whoami");
    expect(who.code).toBe(0);
    expect(who.stdout).toMatch(/Username\s+alice/);
    expect(who.stdout).toMatch(/Groups\s+\[family kids system:authenticated\]/);

    await ok("-n", "family", "create", "rolebinding", "alice-view", "--clusterrole=view", "--user=alice");
    for (let i = 0; i < 100 && (await as(alice, "get", "pods")).code !== 0; i++) await Bun.sleep(50);
    const mine = await as(alice, "get", "pods");
    expect(mine.code).toBe(0);
    expect(mine.stderr).toContain("No resources found in family namespace.");
    const other = await as(alice, "get", "pods", "-n", "default");
    expect(other.stderr).toContain('User "alice" cannot list resource "pods" in API group "" in the namespace "default"');
    const write = await as(alice, "create", "configmap", "x");
    expect(write.stderr).toContain('configmaps is forbidden: User "alice" cannot create resource "configmaps"');
    // A person's credential cannot mint credentials.
    const mint = await bramble("list", "--kubeconfig", alice);
    expect(mint.code).not.toBe(0);
    expect(mint.stderr).toBe('bramble: User "alice" cannot manage user credentials: only the cluster admin can\n');
  });

  test("an expired credential and a revoked one get 401; list shows what was issued", async () => {
    while (Date.now() < shortExpires + 100) await Bun.sleep(100);
    const expired = await as(short, "get", "pods");
    expect(expired.code).not.toBe(0);
    expect(expired.stderr).toContain(UNAUTHORIZED);

    const second = await create("alice2.kubeconfig", "--user", "alice");
    expect((await as(second, "auth", "whoami")).code).toBe(0);
    const revoked = await bramble("revoke", "--user", "alice");
    expect(revoked.code).toBe(0);
    expect(revoked.stdout.trim().split("\n")).toHaveLength(2);
    for (const file of [alice, second]) expect((await as(file, "get", "pods")).stderr).toContain(UNAUTHORIZED);

    // Printed to stdout instead of a file; revoked by its id alone.
    const printed = await bramble("create", "--user", "carol");
    expect(printed.stderr).toContain("kubectl -n default create rolebinding carol-view --clusterrole=view --user=carol");
    const carol = join(dir, "carol.kubeconfig");
    await Bun.write(carol, printed.stdout);
    expect((await as(carol, "auth", "whoami")).stdout).toMatch(/Username\s+carol/);
    const carolId = (await bramble("list")).stdout.split("\n").find((r) => /\scarol\s/.test(r))!.split(/\s+/)[0]!;
    expect((await bramble("revoke", "--id", carolId)).stdout).toBe(`user credential ${carolId} of "carol" revoked\n`);
    expect((await as(carol, "get", "pods")).stderr).toContain(UNAUTHORIZED);

    const list = await bramble("list");
    expect(list.code).toBe(0);
    const rows = list.stdout.trim().split("\n");
    expect(rows[0]).toMatch(/^ID\s+USER\s+GROUPS\s+EXPIRES\s+STATUS$/);
    expect(rows.filter((r) => /\salice\s+family,kids\s+\S+\s+revoked /.test(r))).toHaveLength(1);
    expect(rows.filter((r) => /\salice\s+<none>\s+\S+\s+revoked /.test(r))).toHaveLength(1);
    expect(rows.filter((r) => /\sbob\s+<none>\s+\S+\s+expired$/.test(r))).toHaveLength(1);
    expect(rows.filter((r) => r.startsWith(`${carolId} `) && / revoked /.test(r))).toHaveLength(1);
  });

  test("bad input: one line and a non-zero exit", async () => {
    const cases: [string[], string][] = [
      [["create"], "bramble: --user: is required: the name the credential authenticates as\n"],
      [["create", "--user", "system:admin"], 'bramble: --user: user name "system:admin" is reserved: names starting with "system:" belong to the cluster (--force to use one anyway)\n'],
      [["create", "--user", "eve", "--group", "system:masters"], 'bramble: --group: group name "system:masters" is reserved: names starting with "system:" belong to the cluster (--force to use one anyway)\n'],
      [["create", "--user", "eve", "--ttl", "soon"], 'bramble: --ttl: "soon" is not a duration (e.g. 20s, 1m30s)\n'],
      [["create", "--user", "eve", "--namespace", "Bad_NS"], "bramble: --namespace: "],
      [["create", "--user", "eve", "-o", alice], `bramble: --output: "${alice}" already exists (remove it first, or pick another file)\n`],
      [["revoke"], "bramble: kubeconfig revoke: name exactly one of --user or --id\n"],
      [["revoke", "--id", "xyz"], 'bramble: --id: "xyz" is not a credential id (16 hex characters, see bramble kubeconfig list)\n'],
      [["revoke", "--user", "nobody"], 'bramble: no credentials issued to user "nobody"\n'],
      [["frob"], 'bramble: kubeconfig: unknown subcommand "frob" (create, list or revoke)\n'],
    ];
    const results = await Promise.all(cases.map(([args]) => bramble(...args)));
    results.forEach((r, i) => {
      expect(r.code).not.toBe(0);
      expect(r.stderr.split("\n").filter(Boolean)).toHaveLength(1);
      expect(r.stderr).toStartWith(cases[i]![1]);
    });
  });
});
