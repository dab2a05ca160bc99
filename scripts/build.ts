// bun run build [--target=bun-linux-arm64] [--outfile=dist/bramble]
//
// Compiles bramble into ONE self-contained executable. Two things would otherwise stay outside:
// - libSQL's native addon: libsql/index.js picks it at run time with
//   require(`@libsql/${target}`), which a bundler cannot follow. The plugin below rewrites that
//   into a static require of the addon for the build's target, which Bun then embeds.
// - the SQL migrations: the store imports them as text (migrations/index.ts), so they are
//   inlined by the bundler with no extra step here.

import type { BunPlugin } from "bun";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..");

type Arch = "x64" | "arm64";

function parseArgs(argv: string[]): { target: `bun-linux-${Arch}`; outfile: string } {
  const get = (name: string) => argv.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const target = get("target") ?? `bun-linux-${process.arch}`;
  if (target !== "bun-linux-x64" && target !== "bun-linux-arm64") {
    throw new Error(`--target: "${target}" is not supported (bun-linux-x64 or bun-linux-arm64)`);
  }
  return { target, outfile: resolve(ROOT, get("outfile") ?? "dist/bramble") };
}

/** The libSQL addon package for a target; bramble runs on glibc Linux (Debian, Raspberry Pi OS). */
const addonPackage = (arch: Arch) => `@libsql/linux-${arch}-gnu`;

/**
 * A cross build needs the other architecture's addon, which a package manager never installs
 * on this host (its package.json says `cpu: arm64`). Fetch exactly the version libsql pins,
 * with npm (which ships with Node, like the rest of the toolchain here).
 */
function ensureAddon(arch: Arch): string {
  const pkgDir = join(ROOT, "node_modules", addonPackage(arch));
  const addon = join(pkgDir, "index.node");
  if (existsSync(addon)) return addon;
  const libsqlPkg = JSON.parse(readFileSync(join(ROOT, "node_modules", "libsql", "package.json"), "utf8"));
  const version: string | undefined = libsqlPkg.optionalDependencies?.[addonPackage(arch)];
  if (!version) throw new Error(`libsql does not list ${addonPackage(arch)}; cannot build for ${arch}`);
  console.log(`fetching ${addonPackage(arch)}@${version} for the cross build`);
  const tmp = mkdtempSync(join(tmpdir(), "bramble-addon-"));
  try {
    const pack = Bun.spawnSync(["npm", "pack", "--silent", `${addonPackage(arch)}@${version}`], { cwd: tmp, stderr: "inherit" });
    const tarball = pack.stdout.toString().trim().split("\n").pop();
    if (pack.exitCode !== 0 || !tarball) throw new Error(`npm pack ${addonPackage(arch)}@${version} failed`);
    mkdirSync(pkgDir, { recursive: true });
    const untar = Bun.spawnSync(["tar", "-xzf", join(tmp, tarball), "-C", pkgDir, "--strip-components=1"], { stderr: "inherit" });
    if (untar.exitCode !== 0) throw new Error(`could not unpack ${tarball}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return addon;
}

export function libsqlNativeAddon(addonPath: string): BunPlugin {
  const dynamicRequire = /require\(`@libsql\/\$\{target\}`\)/g;
  return {
    name: "libsql-native-addon",
    setup(build) {
      // index.js is what @libsql/client loads; promise.js has the same loader, so patch both.
      build.onLoad({ filter: /[\\/]node_modules[\\/]libsql[\\/](index|promise)\.js$/ }, async (args) => {
        const source = await Bun.file(args.path).text();
        if (!dynamicRequire.test(source)) {
          throw new Error(`${args.path}: libSQL's native addon loader changed; update scripts/build.ts`);
        }
        dynamicRequire.lastIndex = 0;
        return { contents: source.replace(dynamicRequire, `require(${JSON.stringify(addonPath)})`), loader: "js" };
      });
    },
  };
}

export async function build(argv = process.argv.slice(2)): Promise<string> {
  const { target, outfile } = parseArgs(argv);
  const arch = target.slice("bun-linux-".length) as Arch;
  const addon = ensureAddon(arch);
  mkdirSync(dirname(outfile), { recursive: true });
  const started = performance.now();
  const result = await Bun.build({
    entrypoints: [join(ROOT, "src", "main.ts")],
    compile: {
      target,
      outfile,
      // The binary must behave the same wherever it is started: no .env or bunfig.toml pickup.
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
    minify: true,
    // Embedded in the binary (compressed), so stack traces name source files and lines.
    sourcemap: "inline",
    define: { BRAMBLE_BUILD_DATE: JSON.stringify(new Date().toISOString().replace(/\.\d+Z$/, "Z")) },
    plugins: [libsqlNativeAddon(addon)],
  });
  if (!result.success) {
    for (const m of result.logs) console.error(m);
    throw new Error("build failed");
  }
  // The source map is inside the binary already; the copy written beside it is only clutter.
  rmSync(`${outfile}.map`, { force: true });
  const size = Bun.file(outfile).size / 1024 / 1024;
  console.log(`${outfile} (${target}, ${size.toFixed(1)} MiB) in ${((performance.now() - started) / 1000).toFixed(1)}s`);
  return outfile;
}

if (import.meta.main) {
  try {
    await build();
  } catch (e) {
    // Bun.build throws an AggregateError whose .errors carry the bundler's messages.
    for (const m of (e as { errors?: unknown[] }).errors ?? []) console.error(m);
    console.error(`build: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  }
}
