// The README's air-gapped path against the real Docker engine: an image the engine does not have,
// as `docker save` writes it, loaded with `bramble images import FILE.tar`, or dropped in
// <data-dir>/agent/images/ before the agent starts, then run by a pod with imagePullPolicy Never.
// The images are made here (busybox plus a marker file, under tags no one else uses) and removed.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { busyboxTar } from "../src/agent/images/testimage";
import { buildTar } from "../src/agent/images/tar";
import { dockerForTests } from "../src/agent/runtime/docker/testing";
import { missingCommand, missingFile, requirements } from "../src/machinery/test-requirements";
import { testEnv } from "./helpers/env";
import { eventually } from "./helpers/eventually";
import { removePodsOf, startServerWithNode } from "./helpers/pods";
import { ROOT, type TestServer } from "./helpers/server";

setDefaultTimeout(120_000);

const tools = requirements("images import and the image drop folder", missingCommand("docker"), missingCommand("kubectl"), missingFile("/bin/busybox", "busybox-static"));
const docker = tools ? undefined : await dockerForTests("images import and the image drop folder");
const run = Date.now().toString(36);
const NS = `img-${run}`;
const IMPORTED = `bramble-test/imported-${run}:1`;
const DROPPED = `bramble-test/dropped-${run}:1`;
const work = mkdtempSync(join(tmpdir(), "bramble-images-"));
let s: TestServer | undefined;

const sh = (...argv: string[]) => {
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
};
const imageExists = (ref: string) => sh("docker", "image", "inspect", ref).code === 0;

/** An image only this test has: busybox and /marker holding `marker`, saved with `docker save` and removed from the engine. */
async function savedImage(ref: string, marker: string, file: string) {
  const busybox = new Uint8Array(await Bun.file("/bin/busybox").arrayBuffer());
  // One archive: busybox's entries (without its end-of-archive blocks), then /marker.
  const base = busyboxTar(busybox).subarray(0, -1024);
  const extra = buildTar([{ name: "marker", data: `${marker}\n` }]);
  const rootfs = new Uint8Array(base.length + extra.length);
  rootfs.set(base);
  rootfs.set(extra, base.length);
  await docker!.importImage(rootfs, ref, ["ENV PATH=/bin", 'CMD ["sh"]']);
  expect(sh("docker", "save", "-o", file, ref)).toMatchObject({ code: 0 });
  expect(sh("docker", "rmi", ref)).toMatchObject({ code: 0 });
  expect(imageExists(ref)).toBe(false);
}

/** A pod printing /marker with the image given, never pulled: its log once it has finished. */
async function markerOf(image: string, name: string): Promise<string> {
  const pod = { apiVersion: "v1", kind: "Pod", metadata: { name, namespace: NS }, spec: { restartPolicy: "Never", containers: [{ name: "c", image, imagePullPolicy: "Never", command: ["cat", "/marker"] }] } };
  const applied = await s!.kubectlWith({ stdin: JSON.stringify(pod) }, "apply", "-f", "-");
  expect(applied.stderr).toBe("");
  await eventually(
    `pod ${name} to succeed`,
    async () => {
      const phase = (await s!.kubectl("get", "pod", name, "-n", NS, "-o", "jsonpath={.status.phase}")).stdout;
      if (phase === "Failed") throw new Error(`pod ${name} failed`);
      return phase === "Succeeded";
    },
    { timeoutMs: 60_000, context: () => s!.log.slice(-4000) },
  );
  return (await s!.kubectl("logs", name, "-n", NS)).stdout;
}

describe.skipIf(!docker)("images from archives, without a registry", () => {
  beforeAll(async () => {
    s = await startServerWithNode(docker!);
    expect((await s.kubectl("create", "namespace", NS)).stderr).toBe("");
  });
  afterAll(async () => {
    await s?.cleanup();
    await removePodsOf(docker!, NS);
    for (const ref of [IMPORTED, DROPPED]) sh("docker", "rmi", ref);
    rmSync(work, { recursive: true, force: true });
  });

  test("bramble images import FILE.tar loads a docker save archive; a pod runs the image", async () => {
    const file = join(work, "imported.tar");
    await savedImage(IMPORTED, `imported ${run}`, file);
    const p = Bun.spawnSync([process.execPath, join(ROOT, "src", "main.ts"), "images", "import", file], { cwd: ROOT, stdout: "pipe", stderr: "pipe", env: testEnv() });
    expect({ code: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() }).toEqual({ code: 0, stdout: `${file}: ${IMPORTED}\n`, stderr: "" });
    expect(imageExists(IMPORTED)).toBe(true);
    expect(await markerOf(IMPORTED, "imported")).toBe(`imported ${run}\n`);
  });

  test("an archive in <data-dir>/agent/images/ is loaded when the agent starts; a pod runs the image", async () => {
    const folder = join(s!.dataDir, "agent", "images");
    mkdirSync(folder, { recursive: true });
    await savedImage(DROPPED, `dropped ${run}`, join(folder, "dropped.tar"));
    expect(await s!.stop()).toBe(0);
    await s!.restart();
    await eventually("the dropped image loaded", async () => imageExists(DROPPED), { timeoutMs: 60_000, context: () => s!.log.slice(-4000) });
    expect(await markerOf(DROPPED, "dropped")).toBe(`dropped ${run}\n`);
  });
});
