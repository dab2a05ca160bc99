import { expect, test } from "bun:test";
import { createLogger, formatHeader, parseLogLevel } from "./log";

const at = new Date(2025, 10, 25, 9, 5, 7, 42);

test("klog-style header", () => {
  expect(formatHeader("info", at)).toBe("I1125 09:05:07.042000");
  expect(formatHeader("error", at)[0]).toBe("E");
});

test("lines carry component, message and key=value fields, one line each", () => {
  const lines: string[] = [];
  const log = createLogger("server", { level: "debug", write: (l) => lines.push(l), now: () => at });
  log.info("listening", { url: "https://10.0.0.5:6443", port: 6443 });
  log.child("pki").warn("regenerating\ncert", { why: "SANs changed", err: new Error("boom") });
  expect(lines).toEqual([
    "I1125 09:05:07.042000 server] listening url=https://10.0.0.5:6443 port=6443",
    'W1125 09:05:07.042000 server.pki] regenerating\\ncert why="SANs changed" err="boom"',
  ]);
});

test("level filters lower levels", () => {
  const lines: string[] = [];
  const log = createLogger("x", { level: "warn", write: (l) => lines.push(l), now: () => at });
  log.debug("d");
  log.info("i");
  log.warn("w");
  log.error("e");
  expect(lines.map((l) => l[0])).toEqual(["W", "E"]);
});

test("BRAMBLE_LOG_LEVEL parsing falls back to info", () => {
  expect(parseLogLevel("DEBUG")).toBe("debug");
  expect(parseLogLevel("warning")).toBe("warn");
  expect(parseLogLevel(undefined)).toBe("info");
  expect(parseLogLevel("verbose")).toBe("info");
});
