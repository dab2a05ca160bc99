// A minimal ustar writer and reader: enough to build image root filesystems in memory (pause,
// test images) and to read an image archive's manifest, without a tar dependency.

export interface TarEntry {
  name: string;
  /** File contents; absent for directories and symlinks. */
  data?: Uint8Array | string;
  mode?: number;
  type?: "file" | "dir" | "symlink";
  linkTarget?: string;
}

const enc = new TextEncoder();

function octal(buf: Uint8Array, offset: number, length: number, value: number) {
  buf.set(enc.encode(value.toString(8).padStart(length - 1, "0")), offset);
}

function header(e: TarEntry, size: number): Uint8Array {
  const h = new Uint8Array(512);
  const name = enc.encode(e.type === "dir" && !e.name.endsWith("/") ? `${e.name}/` : e.name);
  if (name.length > 100) throw new Error(`tar: name too long: ${e.name}`);
  h.set(name, 0);
  octal(h, 100, 8, e.mode ?? (e.type === "dir" ? 0o755 : 0o644));
  octal(h, 108, 8, 0);
  octal(h, 116, 8, 0);
  octal(h, 124, 12, size);
  octal(h, 136, 12, 0);
  h.set(enc.encode("        "), 148);
  h[156] = (e.type === "dir" ? "5" : e.type === "symlink" ? "2" : "0").charCodeAt(0);
  if (e.linkTarget) h.set(enc.encode(e.linkTarget), 157);
  h.set(enc.encode("ustar\u000000"), 257);
  const sum = h.reduce((a, b) => a + b, 0);
  h.set(enc.encode(`${sum.toString(8).padStart(6, "0")}\u0000 `), 148);
  return h;
}

export function buildTar(entries: TarEntry[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    const data = e.data === undefined ? new Uint8Array(0) : typeof e.data === "string" ? enc.encode(e.data) : e.data;
    parts.push(header(e, data.length), data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  parts.push(new Uint8Array(1024));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Regular files of an (uncompressed) tar, by name without a leading "./". */
export function readTarFiles(tar: Uint8Array): Map<string, Uint8Array> {
  const dec = new TextDecoder();
  const files = new Map<string, Uint8Array>();
  let off = 0;
  while (off + 512 <= tar.length) {
    const h = tar.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    const field = (o: number, l: number) => dec.decode(h.subarray(o, o + l)).replace(/\0.*$/s, "");
    const prefix = field(345, 155);
    const name = (prefix ? `${prefix}/` : "") + field(0, 100);
    const size = parseInt(field(124, 12).trim() || "0", 8);
    const type = String.fromCharCode(h[156] || 48);
    if (type === "0" || type === "\0") files.set(name.replace(/^\.\//, ""), tar.subarray(off + 512, off + 512 + size));
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}
