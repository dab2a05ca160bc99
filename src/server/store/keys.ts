// Key-range helpers shared by the backends. SQLite compares TEXT as UTF-8 bytes, which orders
// strings by code point; JS `<` compares UTF-16 code units, which differs once characters
// outside the BMP meet U+E000..U+FFFF. The memory backend sorts with compareKeys so both
// backends list in the same order.

/**
 * The smallest string greater than every string that starts with prefix, or undefined when
 * there is none (empty prefix). Lets a prefix scan be an index range: key >= prefix AND key < end.
 */
export function prefixEnd(prefix: string): string | undefined {
  const codePoints = Array.from(prefix);
  while (codePoints.length > 0) {
    const last = codePoints.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      // Skip the surrogate range: those code points cannot appear in well-formed text.
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      return codePoints.join("") + String.fromCodePoint(next);
    }
  }
  return undefined;
}

/** Code-point order (= SQLite's BINARY collation on UTF-8). */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x - y;
    if (x > 0xffff) i++; // both are the same astral character: skip its low surrogate
  }
  return a.length - b.length;
}
