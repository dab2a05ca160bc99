// For tests only: a busybox image made from the host's static busybox (Debian's busybox-static),
// imported through the runtime, since no registry can be reached where the tests run.
import type { ContainerRuntime } from "../runtime/runtime";
import { buildTar, type TarEntry } from "./tar";

export const TEST_IMAGE = "bramble/busybox:test";
export const TEST_IMAGE_LABEL = "io.bramble.test";

const APPLETS = ["sh", "httpd", "wget", "nc", "sleep", "echo", "cat", "true", "false", "ls", "env", "id", "mkdir", "touch", "hostname", "ps", "kill", "date", "grep", "test", "mount", "stat", "head", "rm"];

export function busyboxTar(busybox: Uint8Array): Uint8Array {
  const entries: TarEntry[] = [
    { name: "bin", type: "dir" },
    { name: "bin/busybox", data: busybox, mode: 0o755 },
    ...APPLETS.map((a) => ({ name: `bin/${a}`, type: "symlink" as const, linkTarget: "busybox", mode: 0o777 })),
    { name: "etc", type: "dir" },
    { name: "etc/passwd", data: "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n" },
    { name: "etc/group", data: "root:x:0:\nnogroup:x:65534:\n" },
    { name: "tmp", type: "dir", mode: 0o1777 },
    { name: "www", type: "dir" },
    { name: "www/index.html", data: "hello from bramble\n" },
  ];
  return buildTar(entries);
}

/** Imports bramble/busybox:test from /bin/busybox unless present. */
export async function ensureTestImage(runtime: ContainerRuntime, busyboxPath = "/bin/busybox"): Promise<string> {
  if (await runtime.imagePresent(TEST_IMAGE)) return TEST_IMAGE;
  const busybox = new Uint8Array(await Bun.file(busyboxPath).arrayBuffer());
  await runtime.importImage(busyboxTar(busybox), TEST_IMAGE, ["ENV PATH=/bin", 'CMD ["sh"]', `LABEL ${TEST_IMAGE_LABEL}="true"`]);
  return TEST_IMAGE;
}
