import { expect, test } from "bun:test";
import { parseFlags } from "./argv";
import { IMAGE_GC_AND_LOG_FLAGS, KUBELET_TUNING_DEFAULTS, kubeletTuningFromFlags } from "./kubelet-flags";

const tuning = (...args: string[]) => kubeletTuningFromFlags(parseFlags(args, IMAGE_GC_AND_LOG_FLAGS));

test("kubelet's defaults: 85/80 percent, 2 minutes, 10Mi × 2", () => {
  expect(tuning()).toEqual({
    imageGc: { highThresholdPercent: 85, lowThresholdPercent: 80, minimumAgeMs: 120_000 },
    containerLogs: { maxSizeBytes: 10 * 1024 * 1024, maxFiles: 2 },
  });
  expect(tuning()).toEqual(KUBELET_TUNING_DEFAULTS);
});

test("values as the kubelet takes them", () => {
  expect(tuning("--image-gc-high-threshold", "90", "--image-gc-low-threshold=50", "--minimum-image-ttl-duration", "1m30s", "--container-log-max-size", "1Mi", "--container-log-max-files", "3")).toEqual({
    imageGc: { highThresholdPercent: 90, lowThresholdPercent: 50, minimumAgeMs: 90_000 },
    containerLogs: { maxSizeBytes: 1024 * 1024, maxFiles: 3 },
  });
  expect(tuning("--container-log-max-size", "500k").containerLogs.maxSizeBytes).toBe(500_000);
  expect(tuning("--minimum-image-ttl-duration", "0").imageGc.minimumAgeMs).toBe(0);
  // 100 turns image GC off, as upstream.
  expect(tuning("--image-gc-high-threshold", "100").imageGc.highThresholdPercent).toBe(100);
});

test("bad values name the flag and say what is wrong", () => {
  const bad: Array<[string[], string]> = [
    [["--image-gc-high-threshold", "101"], '--image-gc-high-threshold: "101" must be a whole number between 0 and 100, inclusive'],
    [["--image-gc-high-threshold", "-1"], '--image-gc-high-threshold: "-1" must be a whole number between 0 and 100, inclusive'],
    [["--image-gc-high-threshold"], "--image-gc-high-threshold: a value is required"],
    [["--image-gc-low-threshold", "8.5"], '--image-gc-low-threshold: "8.5" must be a whole number between 0 and 100, inclusive'],
    [["--image-gc-low-threshold", "85"], "--image-gc-low-threshold: 85 must be less than --image-gc-high-threshold (85)"],
    [["--image-gc-high-threshold", "50"], "--image-gc-low-threshold: 80 must be less than --image-gc-high-threshold (50)"],
    [["--minimum-image-ttl-duration", "2 minutes"], '--minimum-image-ttl-duration: "2 minutes" is not a duration'],
    [["--container-log-max-size", "10MB"], '--container-log-max-size: "10MB" is not a quantity (e.g. 10Mi, 500Ki)'],
    [["--container-log-max-size", "0"], '--container-log-max-size: "0" must be greater than 0'],
    [["--container-log-max-size=-1Mi"], '--container-log-max-size: "-1Mi" must be greater than 0'],
    [["--container-log-max-size", "1.5"], '--container-log-max-size: "1.5" is not a whole number of bytes'],
    [["--container-log-max-size", "1E"], '--container-log-max-size: "1E" is too large'],
    [["--container-log-max-files", "1"], "--container-log-max-files: 1 must be greater than 1"],
    [["--container-log-max-files", "two"], '--container-log-max-files: "two" is not a whole number'],
    [["--container-log-max-files="], '--container-log-max-files: "" is not a whole number'],
  ];
  for (const [args, message] of bad) expect(() => tuning(...args)).toThrow(message);
});
