import { expect, test } from "bun:test";
import { FakeRuntime } from "../runtime/fake/fake";
import { ensurePauseImage, pauseElf, PAUSE_IMAGE } from "./pause";
import { readTarFiles } from "./tar";
import { pauseImageTar } from "./pause";

test("pause ELF: 64-bit little-endian executables for x86-64 and arm64", () => {
  for (const [arch, machine] of [["amd64", 62], ["arm64", 183]] as const) {
    const elf = pauseElf(arch);
    expect([...elf.subarray(0, 4)]).toEqual([0x7f, 0x45, 0x4c, 0x46]);
    expect(new DataView(elf.buffer).getUint16(18, true)).toBe(machine);
    expect(elf.length).toBeLessThan(256);
  }
  expect(readTarFiles(pauseImageTar("amd64")).get("pause")).toEqual(pauseElf("amd64"));
});

test.skipIf(process.arch !== "x64")("the x86-64 pause program waits and exits 0 on SIGTERM", async () => {
  const path = `/tmp/bramble-pause-test-${process.pid}`;
  await Bun.write(path, pauseElf("amd64"));
  (await import("node:fs")).chmodSync(path, 0o755);
  const p = Bun.spawn([path]);
  await Bun.sleep(200);
  expect(p.exitCode).toBeNull();
  p.kill("SIGTERM");
  expect(await p.exited).toBe(0);
  (await import("node:fs")).rmSync(path);
});

test("ensurePauseImage imports once", async () => {
  const rt = new FakeRuntime();
  expect(await ensurePauseImage(rt)).toBe(PAUSE_IMAGE);
  expect(await rt.imagePresent(PAUSE_IMAGE)).toBeDefined();
});
