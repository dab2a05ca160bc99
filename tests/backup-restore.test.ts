// `bramble backup` and `bramble restore` against a real server process and the real kubectl:
// a snapshot taken online (also while many clients write) brings the cluster back to exactly the
// objects it held; files that are not snapshots, and a restore under a running server, are refused.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { testEnv } from "./helpers/env";
import { ROOT, parseJson, startTestServer, type TestServer } from "./helpers/server";

const MAIN = join(ROOT, "src", "main.ts");
let s: TestServer;

beforeAll(async () => {
  s = await startTestServer({ args: ["--secrets-encryption"] });
});
afterAll(async () => {
  await s?.cleanup();
});

async function bramble(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn(["bun", MAIN, ...args, "--data-dir", s.dataDir], { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: testEnv() });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

/** name → uid@resourceVersion of the ConfigMaps and Secrets in default. */
async function state(): Promise<Map<string, string>> {
  const list = parseJson(await s.kubectl("get", "configmaps,secrets", "-n", "default", "-o", "json"));
  return new Map(list.items.map((o: any) => [`${o.kind}/${o.metadata.name}`, `${o.metadata.uid}@${o.metadata.resourceVersion}`]));
}

const revisionOf = (backupOutput: string) => Number(/revision (\d+)/.exec(backupOutput)?.[1]);
const SECRET_VALUE = Buffer.from("correct horse battery staple").toString("base64");

test("backup online, restore offline: back to the snapshot's objects; refusals are one line", async () => {
  for (let i = 0; i < 5; i++) expect((await s.kubectl("create", "configmap", `cm-${i}`, `--from-literal=i=${i}`)).code).toBe(0);
  expect((await s.kubectl("create", "secret", "generic", "creds", "--from-literal=password=correct horse battery staple")).code).toBe(0);
  const atSnapshot = await state();

  const first = await bramble("backup");
  expect(first.stderr).toBe("");
  expect(first.code).toBe(0);
  const snapshots = readdirSync(join(s.dataDir, "server", "snapshots"));
  expect(snapshots).toHaveLength(1);
  expect(snapshots[0]).toMatch(/^bramble-snapshot-[a-z0-9.-]+-\d+$/);
  const snap1 = join(s.dataDir, "server", "snapshots", snapshots[0]!);
  expect(first.stdout).toContain(`snapshot saved: ${snap1} (revision `);
  // Secrets stay encrypted inside the snapshot, as they are in the store.
  expect(readFileSync(snap1).includes(SECRET_VALUE)).toBe(false);

  // Change everything the snapshot holds.
  expect((await s.kubectl("delete", "configmap", "cm-0")).code).toBe(0);
  expect((await s.kubectl("label", "configmap", "cm-1", "changed=yes")).code).toBe(0);
  expect((await s.kubectl("delete", "secret", "creds")).code).toBe(0);

  // A snapshot while 64 clients create objects as fast as they can.
  const acked = new Map<string, number>();
  let stop = false;
  const writers = Array.from({ length: 64 }, (_, w) =>
    (async () => {
      for (let i = 0; !stop; i++) {
        const name = `w${w}-${i}`;
        const res = await s.fetch("/api/v1/namespaces/default/configmaps", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name }, data: { w: String(w), i: String(i) } }),
        });
        const body = (await res.json()) as any;
        if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${JSON.stringify(body)}`);
        acked.set(`ConfigMap/${name}`, Number(body.metadata.resourceVersion));
      }
    })(),
  );
  while (acked.size < 100) await Bun.sleep(20);
  const snap2 = join(s.dataDir, "under-load.snapshot");
  const second = await bramble("backup", snap2);
  const ackedBeforeStop = acked.size;
  stop = true;
  await Promise.all(writers);
  expect(second.code).toBe(0);
  const r2 = revisionOf(second.stdout);
  expect(acked.size).toBeGreaterThan(0);

  // The server is running: restore refuses, and changes nothing.
  const busy = await bramble("restore", snap1);
  expect(busy.code).not.toBe(0);
  expect(busy.stderr).toMatch(/^bramble: restore: a server is running on .* \(pid \d+\); stop it first\n$/);

  expect(await s.stop()).toBe(0);

  // Not snapshots: refused with one line, nothing changed.
  const damaged = join(s.dataDir, "damaged.snapshot");
  const bytes = Buffer.from(readFileSync(snap1));
  for (let i = 8192; i < bytes.length; i++) bytes[i] = bytes[i]! ^ 0xa5;
  writeFileSync(damaged, bytes);
  const foreign = join(s.dataDir, "foreign.db");
  const f = createClient({ url: `file:${foreign}` });
  await f.execute("CREATE TABLE notes (body TEXT)");
  f.close();
  for (const [file, why] of [
    [damaged, /is damaged|is not a bramble snapshot/],
    [foreign, /is not a bramble snapshot \(an SQLite database without bramble's tables\)/],
    [join(s.dataDir, "server", "token"), /is not a bramble snapshot \(not an SQLite database\)/],
  ] as const) {
    const r = await bramble("restore", file);
    expect(r.code).not.toBe(0);
    expect(r.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(why);
  }

  // The snapshot taken under load: exactly the writes acknowledged up to its revision.
  const restored2 = await bramble("restore", snap2);
  expect(restored2.code).toBe(0);
  expect(restored2.stdout).toContain("pre-restore-");
  await s.restart();
  const got = await state();
  const expected = [...acked].filter(([, rv]) => rv <= r2);
  expect(expected.length).toBeGreaterThan(0);
  expect(expected.length).toBeLessThanOrEqual(ackedBeforeStop);
  const restoredWriters = [...got].filter(([k]) => k.startsWith("ConfigMap/w"));
  expect(restoredWriters.length).toBe(expected.length);
  for (const [name, rv] of expected) expect(got.get(name)?.endsWith(`@${rv}`)).toBe(true);
  // A clean start dropped the store the restore set aside.
  expect(readdirSync(join(s.dataDir, "server")).filter((n) => n.includes("pre-restore"))).toEqual([]);

  // New writes go above every revision the replaced store handed out.
  const after = parseJson(await s.kubectl("create", "configmap", "after-restore", "-o", "json"));
  expect(Number(after.metadata.resourceVersion)).toBeGreaterThan(Math.max(...acked.values()));
  expect(await s.stop()).toBe(0);

  // The first snapshot: the objects as they were, same uid and resourceVersion, Secret readable.
  expect((await bramble("restore", snap1)).code).toBe(0);
  await s.restart();
  const back = await state();
  for (const [name, id] of atSnapshot) expect(back.get(name)).toBe(id);
  expect([...back.keys()].filter((k) => !atSnapshot.has(k) && !k.startsWith("Secret/"))).toEqual([]);
  const secret = parseJson(await s.kubectl("get", "secret", "creds", "-o", "json"));
  expect(secret.data.password).toBe(SECRET_VALUE);
  expect(existsSync(join(s.dataDir, "server", "server.pid"))).toBe(true);
}, 60_000);

test("the server takes scheduled snapshots and keeps --snapshot-retention of them", async () => {
  const scheduled = await startTestServer({ args: ["--snapshot-schedule-cron", "@every 1s", "--snapshot-retention", "2"] });
  try {
    const dir = join(scheduled.dataDir, "server", "snapshots");
    const names = () => (existsSync(dir) ? readdirSync(dir).filter((n) => /^bramble-snapshot-.+-\d+$/.test(n)) : []);
    // A third run removes the first.
    const deadline = Date.now() + 20_000;
    while (!scheduled.log.includes("removed snapshots beyond the retention") && Date.now() < deadline) await Bun.sleep(100);
    expect(scheduled.log).toContain("removed snapshots beyond the retention");
    // Stopping waits for a snapshot in progress, and its rotation.
    expect(await scheduled.stop()).toBe(0);
    expect(names().length).toBe(2);
  } finally {
    await scheduled.cleanup();
  }
}, 30_000);
