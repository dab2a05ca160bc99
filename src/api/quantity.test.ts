import { describe, expect, test } from "bun:test";
import {
  addQuantities,
  canonicalQuantity,
  compareQuantities,
  cpuMillis,
  memoryBytes,
  parseQuantity,
  QuantityError,
  quantityNumber,
  tryParseQuantity,
  validateNonNegativeQuantity,
  validateQuantity,
} from "./quantity";

describe("parsing", () => {
  test("cpu in millicores", () => {
    expect(cpuMillis("250m")).toBe(250);
    expect(cpuMillis("1.5")).toBe(1500);
    expect(cpuMillis("2")).toBe(2000);
    expect(cpuMillis(0.5)).toBe(500);
    expect(cpuMillis(3)).toBe(3000);
    expect(cpuMillis("100u")).toBe(1); // rounded up, like MilliValue()
    expect(cpuMillis(undefined)).toBe(0);
  });

  test("memory in bytes", () => {
    expect(memoryBytes("64Mi")).toBe(64 * 1024 * 1024);
    expect(memoryBytes("1G")).toBe(1e9);
    expect(memoryBytes("1Gi")).toBe(1024 ** 3);
    expect(memoryBytes("2e3")).toBe(2000);
    expect(memoryBytes("1.5Ki")).toBe(1536);
    expect(memoryBytes("128974848")).toBe(128974848);
    expect(memoryBytes("129e6")).toBe(129000000);
    expect(memoryBytes("123Mi")).toBe(128974848);
    expect(memoryBytes("1E")).toBe(1e18);
    expect(memoryBytes("500m")).toBe(1); // a fraction of a byte rounds up
    expect(memoryBytes(null)).toBe(0);
  });

  test("signs, dots and exponents", () => {
    expect(parseQuantity("+1").nano).toBe(1_000_000_000n);
    expect(parseQuantity("-1.5").nano).toBe(-1_500_000_000n);
    expect(parseQuantity(".5").nano).toBe(500_000_000n);
    expect(parseQuantity("5.").nano).toBe(5_000_000_000n);
    expect(parseQuantity("1e-3").nano).toBe(1_000_000n);
    expect(parseQuantity("1E3").nano).toBe(1000n * 1_000_000_000n);
    expect(parseQuantity("1e-12").nano).toBe(1n); // below 1n rounds up to 1n
    expect(quantityNumber(parseQuantity("0.1"))).toBeCloseTo(0.1);
  });

  test("formats follow the suffix", () => {
    expect(parseQuantity("1Gi").format).toBe("BinarySI");
    expect(parseQuantity("1G").format).toBe("DecimalSI");
    expect(parseQuantity("1").format).toBe("DecimalSI");
    expect(parseQuantity("1e9").format).toBe("DecimalExponent");
  });

  test("malformed quantities throw", () => {
    for (const bad of ["", "abc", "1 Gi", "1Gb", "Mi", ".", "1e", "1.2.3", "1ee3", "--1", "1e999"])
      expect(() => parseQuantity(bad)).toThrow(QuantityError);
    expect(() => parseQuantity("abc")).toThrow("quantities must match the regular expression");
    expect(tryParseQuantity("1x")).toBeUndefined();
    expect(tryParseQuantity({})).toBeUndefined();
    expect(tryParseQuantity("1Ki")?.nano).toBe(1024n * 1_000_000_000n);
  });
});

describe("canonical form", () => {
  const cases: [string | number, string][] = [
    ["250m", "250m"],
    ["0.25", "250m"],
    ["1.5", "1500m"],
    ["1000m", "1"],
    ["2000", "2k"],
    ["1500", "1500"],
    ["1G", "1G"],
    ["1000M", "1G"],
    ["0", "0"],
    ["0Mi", "0"],
    ["64Mi", "64Mi"],
    ["1024Mi", "1Gi"],
    ["1536Mi", "1536Mi"],
    ["1.5Gi", "1536Mi"],
    ["0.5Ki", "512"], // binary below 1024 is written in decimal
    ["100m", "100m"],
    ["2e3", "2e3"],
    ["1.5e3", "1500"],
    ["12e6", "12e6"],
    ["1e-3", "1e-3"],
    ["-1.5", "-1500m"],
    [0.5, "500m"],
    [2, "2"],
    [1e21, "1e21"],
    ["1000E", "1000E"],
  ];
  for (const [input, want] of cases) test(`${input} → ${want}`, () => expect(canonicalQuantity(input)).toBe(want));
});

test("compare and add", () => {
  const a = parseQuantity("500m");
  const b = parseQuantity("0.5");
  expect(compareQuantities(a, b)).toBe(0);
  expect(compareQuantities(a, parseQuantity("1"))).toBe(-1);
  expect(canonicalQuantity("0.1")).toBe("100m");
  const sum = addQuantities(parseQuantity("0.1"), parseQuantity("0.2"));
  expect(sum.nano).toBe(300_000_000n);
  expect(addQuantities(parseQuantity("1Gi"), parseQuantity("512Mi")).format).toBe("BinarySI");
});

describe("validation", () => {
  test("validateQuantity", () => {
    expect(validateQuantity("100m", "spec.containers[0].resources.requests[cpu]")).toEqual([]);
    expect(validateQuantity(2, "x")).toEqual([]);
    const [e] = validateQuantity("lots", "spec.containers[0].resources.requests[cpu]");
    expect(e.field).toBe("spec.containers[0].resources.requests[cpu]");
    expect(e.message).toStartWith('Invalid value: "lots": quantities must match the regular expression');
    expect(validateQuantity(true, "x")).toHaveLength(1);
  });
  test("validateNonNegativeQuantity", () => {
    expect(validateNonNegativeQuantity("0", "x")).toEqual([]);
    expect(validateNonNegativeQuantity("-1", "x")[0].message).toBe('Invalid value: "-1": must be greater than or equal to 0');
  });
});

describe("the grammar's edges, as upstream's ParseQuantity tests them", () => {
  test("accepted: bare fractions, trailing dots, a dot before a suffix, sub-nano binary values, large suffixes", () => {
    const ok: [string, string][] = [
      [".001", "1m"],
      [".0001k", "100m"],
      ["1.", "1"],
      ["1.G", "1G"],
      ["0.000000000001Ki", "2n"], // 1.024n, rounded up to whole nano-units, written in decimal
      ["100.035Ki", "102435840m"],
      ["0.5Mi", "512Ki"],
      ["12E", "12E"],
      ["9Ei", "9Ei"],
      ["+1", "1"],
      ["-0.5", "-500m"],
      ["1e3", "1e3"],
      ["1E-3", "1e-3"],
    ];
    for (const [input, canonical] of ok) expect([input, canonicalQuantity(input)]).toEqual([input, canonical]);
  });

  test("refused: misplaced signs and dots, unknown or mis-cased suffixes, a bare exponent sign, whitespace", () => {
    for (const bad of ["1.1.M", "1+1.0M", "0.1mi", "0.1am", "aoeu", ".5i", "1i", "-3.01i", "-3.01e-", " 1", "1 ", "1\t", "1 Mi", "1KiB", "1kb", "1m1"])
      expect([bad, tryParseQuantity(bad)]).toEqual([bad, undefined]);
  });
});
