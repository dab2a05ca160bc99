import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adminKubeconfig, renderKubeconfig } from "../client/kubeconfig";
import { parseFlags } from "./argv";
import { defaultKubeconfig, durationMs, SIM_FLAGS, simConfigFromFlags } from "./sim";

const home = mkdtempSync(join(tmpdir(), "bramble-sim-flags-"));
afterAll(() => rmSync(home, { recursive: true, force: true }));
mkdirSync(join(home, ".kube"));
const kc = join(home, ".kube", "config");
writeFileSync(kc, renderKubeconfig(adminKubeconfig({ server: "https://127.0.0.1:6443", caCertPem: "x", token: "t" })));

const config = (...args: string[]) => simConfigFromFlags(parseFlags(args, SIM_FLAGS), {}, home);
const failure = (...args: string[]) => {
  try {
    config(...args);
  } catch (e) {
    return (e as Error).message;
  }
  return "no error";
};

test("defaults, and the kubeconfig found like kubectl finds it", () => {
  expect(config()).toEqual({
    kubeconfig: kc,
    nodes: 1,
    prefix: "sim",
    cpu: "4",
    memory: "8Gi",
    pods: 110,
    labels: {},
    heartbeatIntervalMs: 10_000,
    statusReportIntervalMs: 300_000,
    clusterCidr: "10.42.0.0/16",
    workers: 32,
  });
  expect(defaultKubeconfig({ KUBECONFIG: `/missing:${kc}` }, "/nohome")).toBe(kc);
  expect(defaultKubeconfig({}, "/h")).toBe("/h/.kube/config");
});

test("values as given", () => {
  const cfg = config("--nodes", "1000", "--cpu", "500m", "--memory=512Mi", "--pods", "20", "--prefix", "edge", "--node-labels", "zone=a,tier=", "--heartbeat-interval", "2s", "--node-status-report-interval", "1m30s");
  expect(cfg).toMatchObject({ nodes: 1000, cpu: "500m", memory: "512Mi", pods: 20, prefix: "edge", labels: { zone: "a", tier: "" }, heartbeatIntervalMs: 2000, statusReportIntervalMs: 90_000 });
  expect(durationMs("x", "250ms")).toBe(250);
});

test("bad values name their flag", () => {
  expect(failure("--nodes", "0")).toStartWith("--nodes:");
  expect(failure("--cpu", "four")).toStartWith("--cpu:");
  expect(failure("--memory", "0")).toStartWith("--memory:");
  expect(failure("--pods", "-1")).toStartWith("--pods:");
  expect(failure("--prefix", "Bad_Name")).toStartWith("--prefix:");
  expect(failure("--node-labels", "=x")).toStartWith("--node-labels:");
  expect(failure("--heartbeat-interval", "45s")).toStartWith("--heartbeat-interval:");
  expect(failure("--heartbeat-interval", "0s")).toStartWith("--heartbeat-interval:");
  expect(failure("--kubeconfig", join(home, "missing"))).toBe(`--kubeconfig: cannot use "${join(home, "missing")}": no such file`);
  expect(failure("--surprise")).toStartWith("--surprise:");
});
