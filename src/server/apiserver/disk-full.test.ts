// A full disk under the datastore: a write that cannot be stored is answered with a 500 Status
// that says so (as kube-apiserver answers when etcd is over its space quota), nothing of it is
// stored, reads go on, the store is intact, and writes resume once space is freed.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createClient } from "@libsql/client";
import { missingCommand, notRoot, requirements } from "../../machinery/test-requirements";
import { startTestApi } from "./testing";

const skip = requirements("disk-full test", notRoot("mounts a small tmpfs"), missingCommand("mount"));
const dir = mkdtempSync(join(tmpdir(), "bramble-full-"));
let mounted = false;
afterAll(() => {
  // Lazy: the native SQLite handles may be released only when they are collected.
  if (mounted) Bun.spawnSync(["umount", "-l", dir]);
  rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!!skip)("datastore disk full", () => {
  test("writes fail with a clear Status, nothing is corrupted, and writes resume when space returns", async () => {
    const m = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=4m,mode=0700", "tmpfs", dir]);
    expect(m.exitCode).toBe(0);
    mounted = true;
    const db = join(dir, "state.db");
    const t = await startTestApi({ datastoreEndpoint: `file:${db}` });
    const filler = join(dir, "filler");
    writeFileSync(filler, Buffer.alloc(2 * 1024 * 1024));
    const big = "x".repeat(64 * 1024);
    const stored: string[] = [];
    let refused: { status: number; body: any } | undefined;
    try {
      for (let i = 0; i < 200 && !refused; i++) {
        const r = await t.call("POST", "/api/v1/namespaces/default/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: `cm-${i}` }, data: { big } });
        if (r.status === 201) stored.push(`cm-${i}`);
        else refused = r;
      }
      expect(refused?.status).toBe(500);
      expect(refused?.body).toMatchObject({ kind: "Status", status: "Failure", reason: "InternalError", code: 500 });
      expect(refused?.body.message).toStartWith("Internal error occurred: the datastore is out of disk space (database or disk is full)");
      const failed = `cm-${stored.length}`;
      expect((await t.call("GET", `/api/v1/namespaces/default/configmaps/${failed}`)).status).toBe(404);
      expect((await t.call("GET", `/api/v1/namespaces/default/configmaps/${stored[0]}`)).status).toBe(200);

      rmSync(filler);
      const again = await t.call("POST", "/api/v1/namespaces/default/configmaps", { apiVersion: "v1", kind: "ConfigMap", metadata: { name: failed }, data: { big } });
      expect(again.status).toBe(201);
      stored.push(failed);
    } finally {
      await t.stop();
    }
    const c = createClient({ url: `file:${db}` });
    expect((await c.execute("PRAGMA integrity_check")).rows[0]?.integrity_check).toBe("ok");
    c.close();
    const reopened = await startTestApi({ datastoreEndpoint: `file:${db}` });
    try {
      for (const name of stored) expect((await reopened.call("GET", `/api/v1/namespaces/default/configmaps/${name}`)).status).toBe(200);
    } finally {
      await reopened.stop();
    }
  }, 30_000);
});
