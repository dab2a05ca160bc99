// Air-gapped installs: image archives (docker save / OCI tars, maybe gzipped) dropped in
// <dataDir>/agent/images/ are loaded at agent start; importImageFile serves `bramble images import`.
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createLogger } from "../../machinery/log";
import type { ContainerRuntime } from "../runtime/runtime";

const log = createLogger("images");
const ARCHIVE = /\.(tar|tar\.gz|tgz)$/;

export async function importImageFile(runtime: ContainerRuntime, path: string): Promise<string[]> {
  const bytes = new Uint8Array(await Bun.file(path).arrayBuffer());
  return runtime.loadImage(bytes);
}

/** Loads every archive in dir; one bad file is logged and skipped. Returns the images loaded. */
export async function importImages(runtime: ContainerRuntime, dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const loaded: string[] = [];
  for (const name of readdirSync(dir).filter((n) => ARCHIVE.test(n)).sort()) {
    try {
      const refs = await importImageFile(runtime, join(dir, name));
      loaded.push(...refs);
      log.info("imported images", { file: name, images: refs });
    } catch (e) {
      log.warn("could not import image archive", { file: name, error: (e as Error).message });
    }
  }
  return loaded;
}
