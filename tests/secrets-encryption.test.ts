// Secrets encryption at rest, for real: `bramble server` processes on the libSQL file store,
// Secrets written with kubectl, the database files read byte by byte and queried with
// @libsql/client, and `bramble secrets-encrypt` run as a command.
import { afterAll, describe, expect, test } from "bun:test";
import { createClient } from "@libsql/client";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ServerProcess } from "./helpers/server-process";
import { ROOT, freePort } from "./helpers/server";
import { missingCommand, requirements } from "../src/machinery/test-requirements";

const MAIN = join(ROOT, "src", "main.ts");
const HAS_KUBECTL = !requirements("secrets encryption at rest", missingCommand("kubectl"));

const work = mkdtempSync(join(tmpdir(), "bramble-crypt-"));
const running = new Set<ServerProcess>();
afterAll(async () => {
  for (const s of running) s.proc.kill("SIGKILL");
  rmSync(work, { recursive: true, force: true });
});

interface Cluster {
  dataDir: string;
  port: number;
  server?: ServerProcess;
}

function newCluster(name: string): Cluster {
  const dataDir = join(work, name);
  mkdirSync(dataDir, { recursive: true });
  return { dataDir, port: freePort() };
}

const paths = (c: Cluster) => ({
  db: join(c.dataDir, "server", "state.db"),
  keyFile: join(c.dataDir, "server", "cred", "encryption-config.json"),
  kubeconfig: join(c.dataDir, "server", "admin.kubeconfig"),
});

function spawnServer(c: Cluster, encrypt: boolean): ServerProcess {
  const flags = ["--data-dir", c.dataDir, "--https-listen-port", String(c.port), "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1"];
  flags.push("--disable-agent", "--flannel-backend=none", "--disable-kube-proxy", "--disable=coredns");
  if (encrypt) flags.push("--secrets-encryption");
  const s = new ServerProcess(["bun", MAIN, "server", ...flags], c.dataDir, c.port, ROOT);
  running.add(s);
  void s.proc.exited.then(() => running.delete(s));
  return s;
}

async function start(c: Cluster, encrypt: boolean): Promise<ServerProcess> {
  c.server = spawnServer(c, encrypt);
  await c.server.waitReady();
  return c.server;
}

async function stop(c: Cluster): Promise<void> {
  expect(await c.server!.terminate()).toBe(0);
  c.server = undefined;
}

async function run(cmd: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const p = Bun.spawn(cmd, { cwd: ROOT, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { code, stdout, stderr };
}

async function kubectl(c: Cluster, ...args: string[]) {
  const r = await run(["kubectl", "--kubeconfig", paths(c).kubeconfig, "--cache-dir", join(c.dataDir, "kube-cache"), "--request-timeout=20s", ...args]);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed (${r.code}): ${r.stderr}`);
  return r.stdout;
}

const bramble = (c: Cluster, ...args: string[]) => run(["bun", MAIN, ...args, "--kubeconfig", paths(c).kubeconfig]);

interface SecretJson {
  metadata: { name: string; resourceVersion: string };
  data: Record<string, string>;
}

async function readSecret(c: Cluster, name: string): Promise<SecretJson> {
  return JSON.parse(await kubectl(c, "get", "secret", name, "-o", "json"));
}

/** The database file and its WAL, as bytes on disk. */
function rawStore(c: Cluster): Buffer {
  const { db } = paths(c);
  return Buffer.concat([readFileSync(db), existsSync(`${db}-wal`) ? readFileSync(`${db}-wal`) : Buffer.alloc(0)]);
}

function expectNoTrace(raw: Buffer, marker: string) {
  for (const form of [marker, Buffer.from(marker).toString("base64")]) {
    expect({ form, found: raw.includes(Buffer.from(form)) }).toEqual({ form, found: false });
  }
}

/** Every stored row of the Secrets (current values and history), read with a client of its own. */
async function secretRows(c: Cluster): Promise<Array<{ key: string; value: string; revision: number }>> {
  const db = createClient({ url: `file:${paths(c).db}` });
  try {
    const rs = await db.execute("SELECT key, value, revision FROM kv WHERE key >= '/registry/core/secrets/' AND key < '/registry/core/secrets0' AND deleted = 0 ORDER BY revision");
    return rs.rows.map((r) => ({ key: String(r.key), value: String(r.value), revision: Number(r.revision) }));
  } finally {
    db.close();
  }
}

const keyNames = (c: Cluster): string[] => JSON.parse(readFileSync(paths(c).keyFile, "utf8")).resources[0].providers[0].aesgcm.keys.map((k: { name: string }) => k.name);
const mode = (p: string) => statSync(p).mode & 0o777;
const marker = (what: string) => `${what}-${crypto.randomUUID()}`;

describe.skipIf(!HAS_KUBECTL)("secrets encryption at rest (kubectl is required)", () => {
  const c = newCluster("encrypted");
  const values = { a: marker("alpha"), b: marker("bravo"), b2: marker("bravo-two") };

  test("a Secret created with kubectl reads back intact; the store files hold only ciphertext, mode 0600", async () => {
    await start(c, true);
    await kubectl(c, "create", "secret", "generic", "a", `--from-literal=password=${values.a}`);
    await kubectl(c, "create", "secret", "generic", "b", `--from-literal=password=${values.b}`);
    // An update leaves the first value as history in the log: it must be sealed too.
    await kubectl(c, "patch", "secret", "b", "--type=merge", "-p", JSON.stringify({ stringData: { password: values.b2 } }));
    expect(Buffer.from((await readSecret(c, "a")).data.password!, "base64").toString()).toBe(values.a);
    expect(Buffer.from((await readSecret(c, "b")).data.password!, "base64").toString()).toBe(values.b2);

    const raw = rawStore(c);
    for (const v of Object.values(values)) expectNoTrace(raw, v);
    const [key] = keyNames(c);
    expect(key).toMatch(/^aesgcmkey-\d{8}T\d{6}Z$/);
    const rows = await secretRows(c);
    expect(rows.filter((r) => r.key === "/registry/core/secrets/default/b").length).toBe(2);
    for (const row of rows) expect(row.value.startsWith(`k8s:enc:aesgcm:v1:${key}:`)).toBe(true);

    const { db, keyFile } = paths(c);
    // The WAL and shared-memory files exist once something was written.
    for (const file of [db, `${db}-wal`, `${db}-shm`, keyFile]) expect({ file, mode: mode(file).toString(8) }).toEqual({ file, mode: "600" });
    for (const dir of [join(c.dataDir, "server"), join(c.dataDir, "server", "cred")]) expect({ dir, mode: mode(dir).toString(8) }).toEqual({ dir, mode: "700" });
  });

  test("secrets-encrypt status: on, the current key, every stored value on it; only the admin may ask", async () => {
    const r = await bramble(c, "secrets-encrypt", "status");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [key] = keyNames(c);
    expect(r.stdout).toContain("Encryption Status: Enabled\n");
    expect(r.stdout).toContain(`Current Key: ${key}\n`);
    expect(r.stdout).toContain("Secrets: 2 (3 stored values");
    expect(r.stdout).toContain("Stored Values: all 3 on the current key\n");
    expect(r.stdout).toContain(` *      AES-GCM   ${key}`);

    const url = `https://127.0.0.1:${c.port}/v1-bramble/secrets-encrypt/status`;
    const ca = readFileSync(join(c.dataDir, "server", "tls", "server-ca.crt"), "utf8");
    const anonymous = await fetch(url, { tls: { ca } });
    expect(anonymous.status).toBe(401);
    await kubectl(c, "create", "serviceaccount", "robot");
    const saToken = (await kubectl(c, "create", "token", "robot")).trim();
    for (const [method, path] of [["GET", "status"], ["POST", "rotate-keys"], ["POST", "reencrypt"]] as const) {
      const res = await fetch(url.replace(/status$/, path), { method, headers: { authorization: `Bearer ${saToken}` }, tls: { ca } });
      const body = (await res.json()) as { kind: string; reason: string; code: number };
      expect({ path, status: res.status, kind: body.kind, reason: body.reason }).toEqual({ path, status: 403, kind: "Status", reason: "Forbidden" });
    }
    expect(keyNames(c)).toEqual([key!]);
    const wrongMethod = await fetch(url.replace(/status$/, "rotate-keys"), { headers: { authorization: `Bearer ${readFileSync(join(c.dataDir, "server", "admin-token"), "utf8").trim()}` }, tls: { ca } });
    expect(wrongMethod.status).toBe(405);
  });

  test("rotate-keys: a new key, every row rewritten onto it, the old key gone; a restart keeps every Secret", async () => {
    const before = await secretRows(c);
    const [oldKey] = keyNames(c);
    const r = await bramble(c, "secrets-encrypt", "rotate-keys");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const keys = keyNames(c);
    expect(keys.length).toBe(1);
    expect(keys[0]).not.toBe(oldKey);
    expect(r.stdout).toBe(`keys rotated: new key ${keys[0]}; 3 stored values rewritten; removed key ${oldKey}\n`);
    const after = await secretRows(c);
    // Same rows, same revisions (resourceVersions), new key.
    expect(after.map((row) => row.revision)).toEqual(before.map((row) => row.revision));
    for (const row of after) expect(row.value.startsWith(`k8s:enc:aesgcm:v1:${keys[0]}:`)).toBe(true);

    await stop(c);
    await start(c, true);
    expect(Buffer.from((await readSecret(c, "a")).data.password!, "base64").toString()).toBe(values.a);
    expect(Buffer.from((await readSecret(c, "b")).data.password!, "base64").toString()).toBe(values.b2);
    const status = await bramble(c, "secrets-encrypt", "status");
    expect(status.stdout).toContain(`Current Key: ${keys[0]}\n`);
    expect(status.stdout).toContain("Stored Values: all 3 on the current key\n");

    const re = await bramble(c, "secrets-encrypt", "reencrypt");
    expect(re.code).toBe(0);
    expect(re.stdout).toBe(`re-encrypted with ${keys[0]}; 3 stored values rewritten\n`);
    const reRows = await secretRows(c);
    // Fresh nonces: every sealed value changed, the key and revisions did not.
    expect(reRows.map((row) => row.revision)).toEqual(after.map((row) => row.revision));
    for (const [i, row] of reRows.entries()) expect(row.value).not.toBe(after[i]!.value);
  });

  test("restarting without the flag keeps encryption on: Secrets read, new ones sealed", async () => {
    await stop(c);
    const s = await start(c, false);
    expect(s.log).toContain("secrets encryption stays on");
    expect(Buffer.from((await readSecret(c, "a")).data.password!, "base64").toString()).toBe(values.a);
    const late = marker("charlie");
    await kubectl(c, "create", "secret", "generic", "c", `--from-literal=password=${late}`);
    expectNoTrace(rawStore(c), late);
    const [key] = keyNames(c);
    for (const row of await secretRows(c)) expect(row.value.startsWith(`k8s:enc:aesgcm:v1:${key}:`)).toBe(true);
    expect((await bramble(c, "secrets-encrypt", "status")).stdout).toContain("Encryption Status: Enabled\n");
  });

  test("a corrupted, wrong or missing key file: one clear line, a non-zero exit, nothing lost", async () => {
    await stop(c);
    const { keyFile } = paths(c);
    const good = readFileSync(keyFile, "utf8");
    const rowsBefore = await secretRows(c);
    const expectRefused = async (encrypt: boolean, message: RegExp) => {
      const s = spawnServer(c, encrypt);
      const code = await s.proc.exited;
      const errorLines = s.log.split("\n").filter((l) => l.startsWith("bramble: "));
      expect({ code, errorLines: errorLines.length, log: s.log }).toEqual({ code: 1, errorLines: 1, log: s.log });
      expect(errorLines[0]).toMatch(message);
    };

    writeFileSync(keyFile, good.slice(0, good.length / 2));
    await expectRefused(true, /^bramble: secrets encryption: .*encryption-config\.json: cannot be read as JSON/);

    const doc = JSON.parse(good);
    doc.resources[0].providers[0].aesgcm.keys[0].secret = Buffer.alloc(32, 7).toString("base64");
    writeFileSync(keyFile, JSON.stringify(doc));
    await expectRefused(true, /^bramble: secrets encryption: Secret default\/\w+ cannot be decrypted with .*encryption-config\.json: key "aesgcmkey-[\w-]+" does not decrypt it/);

    rmSync(keyFile);
    await expectRefused(false, /^bramble: secrets encryption: Secret default\/\w+ is encrypted, but the key file .*encryption-config\.json is missing/);
    // With the flag, a missing key file must not be replaced by a new key that cannot read the store.
    await expectRefused(true, /^bramble: secrets encryption: Secret default\/\w+ cannot be decrypted with .*: it is sealed with key "aesgcmkey-\w+", which is not in the key file/);
    expect(existsSync(keyFile)).toBe(false);

    expect(await secretRows(c)).toEqual(rowsBefore);
    writeFileSync(keyFile, good, { mode: 0o600 });
    await start(c, true);
    expect(Buffer.from((await readSecret(c, "b")).data.password!, "base64").toString()).toBe(values.b2);
    await stop(c);
  });
});

describe.skipIf(!HAS_KUBECTL)("turning encryption on for a store written without it (kubectl is required)", () => {
  const c = newCluster("plain-then-encrypted");

  test("every Secret is encrypted in place, history and deleted ones included, resourceVersions unchanged", async () => {
    await start(c, false);
    const values = Array.from({ length: 5 }, (_, i) => marker(`plain${i}`));
    for (const [i, v] of values.entries()) await kubectl(c, "create", "secret", "generic", `s${i}`, `--from-literal=token=${v}`);
    // Larger than a database page: its value lives in overflow pages, which the rewrite frees.
    const big = marker("big");
    await kubectl(c, "create", "secret", "generic", "big", `--from-literal=cert=${"x".repeat(20_000)}${big}`);
    values.push(big);
    const overwritten = marker("overwritten");
    await kubectl(c, "patch", "secret", "s0", "--type=merge", "-p", JSON.stringify({ stringData: { token: overwritten } }));
    const deletedValue = values[4]!;
    await kubectl(c, "delete", "secret", "s4");
    const before = new Map<string, SecretJson>();
    for (const name of ["s0", "s1", "s2", "s3", "big"]) before.set(name, await readSecret(c, name));
    const plainStatus = await bramble(c, "secrets-encrypt", "status");
    expect(plainStatus.stdout).toBe("Encryption Status: Disabled\n(start the server with --secrets-encryption to turn it on)\n");
    const refused = await bramble(c, "secrets-encrypt", "rotate-keys");
    expect(refused.code).toBe(1);
    expect(refused.stderr).toBe("bramble: secrets encryption is off: start the server with --secrets-encryption\n");
    await stop(c);
    // The plain store really held the values (else the checks below would prove nothing).
    expect(rawStore(c).includes(Buffer.from(Buffer.from(deletedValue).toString("base64")))).toBe(true);
    const rowsBefore = await secretRows(c);

    const s = await start(c, true);
    expect(s.log).toContain("stored Secret values encrypted in place");
    for (const [name, old] of before) {
      const now = await readSecret(c, name);
      expect({ name, rv: now.metadata.resourceVersion, data: now.data }).toEqual({ name, rv: old.metadata.resourceVersion, data: old.data });
    }
    expect(Buffer.from((await readSecret(c, "s0")).data.token!, "base64").toString()).toBe(overwritten);
    const raw = rawStore(c);
    for (const v of [...values, overwritten]) expectNoTrace(raw, v);
    const [key] = keyNames(c);
    const rowsAfter = await secretRows(c);
    expect(rowsAfter.map((r) => `${r.key}@${r.revision}`)).toEqual(rowsBefore.map((r) => `${r.key}@${r.revision}`));
    for (const row of rowsAfter) expect(row.value.startsWith(`k8s:enc:aesgcm:v1:${key}:`)).toBe(true);
    const status = await bramble(c, "secrets-encrypt", "status");
    expect(status.stdout).toContain(`Stored Values: all ${rowsAfter.length} on the current key\n`);
    await stop(c);
    // The command works through the running server: stopped, it says so in one line.
    const down = await bramble(c, "secrets-encrypt", "status");
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^bramble: cannot reach the API server at https:\/\/127\.0\.0\.1:\d+: .*\(secrets-encrypt works through the running server: start it first\)\n$/);
  });
});

describe("a server killed in the middle of a key rotation", () => {
  const c = newCluster("killed-rotation");

  test("loses no Secret; the old key stays until reencrypt finishes the job", async () => {
    const s = await start(c, true);
    const ca = readFileSync(join(c.dataDir, "server", "tls", "server-ca.crt"), "utf8");
    const token = readFileSync(join(c.dataDir, "server", "admin-token"), "utf8").trim();
    const api = (path: string, init: RequestInit = {}) =>
      fetch(`https://127.0.0.1:${c.port}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, "content-type": "application/json" }, tls: { ca } });
    const count = 600;
    const payload = (i: number) => Buffer.from(`${i}:${"z".repeat(4000)}`).toString("base64");
    for (let i = 0; i < count; i++) {
      const res = await api("/api/v1/namespaces/default/secrets", { method: "POST", body: JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: `k${i}` }, data: { v: payload(i) } }) });
      expect(res.status).toBe(201);
    }
    const [oldKey] = keyNames(c);
    void api("/v1-bramble/secrets-encrypt/rotate-keys", { method: "POST" }).catch(() => undefined);
    // Kill -9 once the first rows are on the new key (or, if the rotation outran the polling, after it).
    const db = createClient({ url: `file:${paths(c).db}` });
    for (;;) {
      const keys = keyNames(c);
      if (keys.length === 1 && keys[0] !== oldKey) break;
      if (keys.length === 2) {
        const rs = await db.execute({ sql: "SELECT count(*) AS n FROM kv WHERE value LIKE ?", args: [`k8s:enc:aesgcm:v1:${keys[0]}:%`] });
        if (Number(rs.rows[0]!.n) > 0) break;
      }
      await Bun.sleep(1);
    }
    db.close();
    s.proc.kill("SIGKILL");
    await s.proc.exited;
    c.server = undefined;
    const rows = await secretRows(c);
    const onOld = rows.filter((r) => r.value.startsWith(`k8s:enc:aesgcm:v1:${oldKey}:`)).length;
    console.log(`killed mid-rotation: ${onOld} of ${rows.length} stored values still on the old key; key file: ${keyNames(c).join(", ")}`);
    expect(keyNames(c).includes(oldKey!) || onOld === 0).toBe(true);

    await start(c, true);
    const list = (await (await api("/api/v1/namespaces/default/secrets")).json()) as { items: Array<{ metadata: { name: string }; data: { v: string } }> };
    expect(list.items.length).toBe(count);
    for (const item of list.items) expect(item.data.v).toBe(payload(Number(item.metadata.name.slice(1))));

    const re = await bramble(c, "secrets-encrypt", "reencrypt");
    expect(re.code).toBe(0);
    const keys = keyNames(c);
    expect(keys.length).toBe(1);
    expect(keys[0]).not.toBe(oldKey);
    for (const row of await secretRows(c)) expect(row.value.startsWith(`k8s:enc:aesgcm:v1:${keys[0]}:`)).toBe(true);
    expect((await bramble(c, "secrets-encrypt", "status")).stdout).toContain(`Stored Values: all ${count} on the current key\n`);
    await stop(c);
  });
});
