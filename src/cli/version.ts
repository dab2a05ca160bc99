// `bramble version`: the package version plus how this binary was built. No git involved, so
// it works the same from a tarball, a clone or the compiled binary.

import pkg from "../../package.json" with { type: "json" };

// Replaced by scripts/build.ts (Bun.build `define`) in compiled binaries.
declare const BRAMBLE_BUILD_DATE: string;

export const VERSION = `v${pkg.version}`;

export function buildInfo(): { version: string; build: string; runtime: string } {
  const compiled = typeof BRAMBLE_BUILD_DATE === "string";
  return {
    version: VERSION,
    build: compiled ? `compiled ${BRAMBLE_BUILD_DATE}` : "from source",
    runtime: `bun ${Bun.version} ${process.platform}/${process.arch}`,
  };
}

export function versionText(): string {
  const b = buildInfo();
  return `bramble version ${b.version} (${b.build})\n${b.runtime}\n`;
}

export function runVersion(): void {
  process.stdout.write(versionText());
}
