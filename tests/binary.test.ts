// The compiled single binary, copied alone into an empty folder (no node_modules, no source,
// no migrations folder next to it), must run a working server that the real kubectl talks to.

import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort, HOST_SAFE_NETWORKING } from "./helpers/server";
import { ServerProcess } from "./helpers/server-process";
import { testEnv } from "./helpers/env";

const ROOT = join(import.meta.dir, "..");

const work = mkdtempSync(join(tmpdir(), "bramble-bin-"));
const binDir = join(work, "bin");
const bin = join(binDir, "bramble");
afterAll(() => rmSync(work, { recursive: true, force: true }));


function kubectl(kubeconfig: string, ...args: string[]) {
  return kubectlWithInput(kubeconfig, "", ...args);
}

function kubectlWithInput(kubeconfig: string, input: string, ...args: string[]) {
  const p = Bun.spawnSync(["kubectl", "--kubeconfig", kubeconfig, "--request-timeout=20s", ...args], {
    timeout: 30_000,
    stdin: Buffer.from(input),
    env: testEnv(),
  });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

describe("compiled binary", () => {
  beforeAll(() => {
    // The real kubectl is part of the test bed (TESTBED.md); without it this test means nothing.
    if (!Bun.which("kubectl")) throw new Error("kubectl is not on PATH; the binary test drives the server with the real kubectl");
    const outfile = join(work, "build", "bramble");
    const build = Bun.spawnSync([process.execPath, join(ROOT, "scripts", "build.ts"), `--outfile=${outfile}`], { cwd: ROOT, stdout: "pipe", stderr: "pipe" });
    if (build.exitCode !== 0) throw new Error(`build failed:\n${build.stdout}\n${build.stderr}`);
    // The binary ALONE: whatever it needs at run time must be inside it.
    Bun.spawnSync(["mkdir", "-p", binDir]);
    copyFileSync(outfile, bin);
    Bun.spawnSync(["chmod", "+x", bin]);
    expect(readdirSync(binDir)).toEqual(["bramble"]);
  }, 180_000);

  test("bramble version", () => {
    const p = Bun.spawnSync([bin, "version"], { cwd: binDir, env: testEnv() });
    expect(p.exitCode).toBe(0);
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
    expect(p.stdout.toString()).toMatch(new RegExp(`^bramble version v${pkg.version.replaceAll(".", "\\.")} \\(compiled \\d{4}-\\d\\d-\\d\\dT`));
  });

  test("bad flag: one line, non-zero exit", () => {
    const p = Bun.spawnSync([bin, "server", "--service-cidr", "10.43.0.0/33"], { cwd: binDir, env: testEnv() });
    expect(p.exitCode).not.toBe(0);
    expect(p.stderr.toString()).toBe('bramble: --service-cidr: "10.43.0.0/33" is not a valid CIDR\n');
  });

  test(
    "server: kubectl lists the bootstrap namespaces; state, CA and token survive a restart",
    async () => {
      const dataDir = join(work, "data");
      const port = freePort();
      const kubeconfig = join(dataDir, "server", "admin.kubeconfig");
      const extraKubeconfig = join(work, "home", ".kube", "config");

      let server = new ServerProcess([bin, "server", "--data-dir", dataDir, "--https-listen-port", String(port), "--write-kubeconfig", extraKubeconfig, ...HOST_SAFE_NETWORKING], dataDir, port, binDir);
      try {
        await server.waitReady();

        const ns = kubectl(kubeconfig, "get", "namespaces", "-o", "name");
        expect(ns.stderr).toBe("");
        expect(ns.stdout.trim().split("\n").sort()).toEqual(
          ["namespace/default", "namespace/kube-node-lease", "namespace/kube-public", "namespace/kube-system"],
        );
        // The --write-kubeconfig copy works the same.
        expect(kubectl(extraKubeconfig, "get", "namespace", "kube-system", "-o", "name").stdout.trim()).toBe("namespace/kube-system");
        const created = kubectlWithInput(kubeconfig, "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: survives-restart\n", "create", "-f", "-");
        expect(created.stderr).toBe("");
        expect(created.stdout).toBe("namespace/survives-restart created\n");

        // Without the token: 401 Status, except the health endpoints.
        const ca = readFileSync(join(dataDir, "server", "tls", "server-ca.crt"), "utf8");
        const anon = await fetch(`https://127.0.0.1:${port}/api/v1/namespaces`, { tls: { ca } });
        expect(anon.status).toBe(401);
        expect(await anon.json()).toMatchObject({ kind: "Status", code: 401, reason: "Unauthorized" });
        expect((await fetch(`https://127.0.0.1:${port}/livez`, { tls: { ca } })).status).toBe(200);
        // The web dashboard's files are inside the binary (logic.js is made from TypeScript at run time).
        for (const [file, text] of [["", "<title>bramble dashboard</title>"], ["app.js", "sessionStorage"], ["logic.js", "export function nodeBin(node, pods, usage)"], ["dashboard.css", ".track"]]) {
          const r = await fetch(`https://127.0.0.1:${port}/dashboard/${file}`, { tls: { ca } });
          expect([file, r.status]).toEqual([file, 200]);
          expect(await r.text()).toContain(text!);
        }

        // A second server on the same port fails with one clear line.
        const clash = Bun.spawnSync([bin, "server", "--data-dir", join(work, "other"), "--https-listen-port", String(port)], { cwd: binDir, timeout: 30_000, env: testEnv() });
        expect(clash.exitCode).not.toBe(0);
        const lastLine = clash.stderr.toString().trimEnd().split("\n").pop();
        expect(lastLine).toMatch(/^bramble: --https-listen-port: 0\.0\.0\.0:\d+ is already in use/);

        expect(await server.terminate()).toBe(0);
        expect(server.log).toContain("stopped");

        const kubeconfigBefore = readFileSync(kubeconfig, "utf8");
        server = new ServerProcess([bin, "server", "--data-dir", dataDir, "--https-listen-port", String(port), ...HOST_SAFE_NETWORKING], dataDir, port, binDir);
        await server.waitReady();
        expect(readFileSync(kubeconfig, "utf8")).toBe(kubeconfigBefore); // same CA, same token
        expect(kubectl(kubeconfig, "get", "namespace", "survives-restart", "-o", "name").stdout.trim()).toBe("namespace/survives-restart");
        expect(await server.terminate()).toBe(0);
      } finally {
        if (server.proc.exitCode === null) server.proc.kill("SIGKILL");
      }
    },
    120_000,
  );
});
