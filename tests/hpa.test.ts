// The horizontal pod autoscaler for real: a `bramble server` whose embedded agent runs a
// Deployment's pods on Docker. A busy loop against a small CPU request scales the Deployment up;
// once the pods idle it scales back down after the HPA's (short) scale-down window. The sync
// period and the agent's sampling interval are shortened with their flags so this stays short.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { dockerForTests } from "../src/agent/runtime/docker/testing";
import { eventually as poll } from "./helpers/eventually";
import { removePodsOf, shContainer, startServerWithNode } from "./helpers/pods";
import { parseJson, type TestServer } from "./helpers/server";

const docker = await dockerForTests("horizontal pod autoscaler tests");
setDefaultTimeout(90_000);
const NS = `hpa-${Date.now().toString(36)}`;
let s: TestServer;

const eventually = <T>(what: string, f: () => Promise<T | undefined | false>) => poll(what, f, { timeoutMs: 60_000, intervalMs: 500, context: () => s?.log.slice(-3000) ?? "" });
const replicas = async () => parseJson(await s.kubectl("-n", NS, "get", "deploy", "burn", "-o", "json")).spec.replicas as number;

const deployment = {
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name: "burn" },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: "burn" } },
    template: {
      metadata: { labels: { app: "burn" } },
      spec: {
        terminationGracePeriodSeconds: 0,
        containers: [{ name: "main", ...shContainer(`trap 'exit 0' TERM; if [ "$LOAD" = 1 ]; then while :; do :; done; fi; sleep 100000 & wait`), env: [{ name: "LOAD", value: "1" }], resources: { requests: { cpu: "20m" } } }],
      },
    },
  },
};

const hpa = {
  apiVersion: "autoscaling/v2",
  kind: "HorizontalPodAutoscaler",
  metadata: { name: "burn" },
  spec: {
    scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "burn" },
    minReplicas: 1,
    maxReplicas: 2,
    metrics: [{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }],
    behavior: { scaleDown: { stabilizationWindowSeconds: 2 } },
  },
};

describe.skipIf(!docker)("HorizontalPodAutoscaler", () => {
  beforeAll(async () => {
    s = await startServerWithNode(docker!, ["--horizontal-pod-autoscaler-sync-period=2s", "--horizontal-pod-autoscaler-cpu-initialization-period=1s", "--housekeeping-interval=2s"]);
    expect((await s.kubectl("create", "namespace", NS)).code).toBe(0);
    const r = await s.kubectlWith({ stdin: JSON.stringify(deployment) }, "-n", NS, "apply", "-f", "-");
    expect(r.stderr).toBe("");
  }, 90_000);

  afterAll(async () => {
    await s?.cleanup();
    if (docker) await removePodsOf(docker, NS);
  });

  test("kubectl autoscale creates an autoscaling/v1 HPA, shown in both versions", async () => {
    // A target with no replicas: the HPA exists but does not scale (upstream's ScalingDisabled).
    const idle = { ...deployment, metadata: { name: "idle" }, spec: { ...deployment.spec, replicas: 0 } };
    expect((await s.kubectlWith({ stdin: JSON.stringify(idle) }, "-n", NS, "apply", "-f", "-")).stderr).toBe("");
    const r = await s.kubectl("-n", NS, "autoscale", "deploy/idle", "--cpu-percent=50", "--min=1", "--max=3");
    expect(r.stderr).toBe("");
    expect(r.stdout.trim()).toBe("horizontalpodautoscaler.autoscaling/idle autoscaled");
    const table = await s.kubectl("-n", NS, "get", "hpa", "idle", "--no-headers");
    expect(table.stdout.trim().split(/\s{2,}/).slice(0, 5)).toEqual(["idle", "Deployment/idle", "cpu: <unknown>/50%", "1", "3"]);
    // kubectl expands a short name to its preferred version (hpa.v1.autoscaling reads v2): the full name selects v1.
    const v1 = await s.kubectl("-n", NS, "get", "horizontalpodautoscalers.v1.autoscaling", "idle", "-o", "yaml");
    expect(v1.stdout).toContain("apiVersion: autoscaling/v1");
    expect(v1.stdout).toContain("targetCPUUtilizationPercentage: 50");
    const v2 = parseJson(await s.kubectl("-n", NS, "get", "hpa", "idle", "-o", "json"));
    expect(v2.apiVersion).toBe("autoscaling/v2");
    expect(v2.spec.metrics).toEqual([{ type: "Resource", resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } } }]);
    // A v1 manifest applied over it (validated against the v1 OpenAPI, patched in v1).
    const manifest = { apiVersion: "autoscaling/v1", kind: "HorizontalPodAutoscaler", metadata: { name: "idle" }, spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "idle" }, minReplicas: 1, maxReplicas: 4, targetCPUUtilizationPercentage: 70 } };
    // (kubectl warns that the object it did not create lacks its last-applied annotation, as upstream.)
    const apply = await s.kubectlWith({ stdin: JSON.stringify(manifest) }, "-n", NS, "apply", "-f", "-");
    expect([apply.code, apply.stdout.trim()]).toEqual([0, "horizontalpodautoscaler.autoscaling/idle configured"]);
    const applied = parseJson(await s.kubectl("-n", NS, "get", "hpa", "idle", "-o", "json")).spec;
    expect([applied.maxReplicas, applied.metrics[0].resource.target.averageUtilization]).toEqual([4, 70]);
  });

  test("scales up under CPU load and back down once the pods idle", async () => {
    const r = await s.kubectlWith({ stdin: JSON.stringify(hpa) }, "-n", NS, "apply", "-f", "-");
    expect(r.stderr).toBe("");
    await eventually("the Deployment scaled to 2", async () => (await replicas()) === 2);
    const events = await eventually("a SuccessfulRescale event", async () => {
      const list = parseJson(await s.kubectl("-n", NS, "get", "events", "--field-selector", "reason=SuccessfulRescale", "-o", "json")).items;
      return list.length > 0 && list;
    });
    expect(events[0].message).toBe("New size: 2; reason: cpu resource utilization (percentage of request) above target");
    const table = await s.kubectl("-n", NS, "get", "hpa");
    const [header, row] = table.stdout.trim().split("\n").map((l) => l.trim().split(/\s{2,}/));
    expect(header).toEqual(["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]);
    expect(row!.slice(0, 2)).toEqual(["burn", "Deployment/burn"]);
    expect(row![2]).toMatch(/^cpu: (\d+%|<unknown>)\/50%$/);
    const status = parseJson(await s.kubectl("-n", NS, "get", "hpa", "burn", "-o", "json")).status;
    expect(status.conditions.map((c: any) => c.type)).toEqual(["AbleToScale", "ScalingActive", "ScalingLimited"]);

    // Idle pods (a rollout replaces the busy ones): back to minReplicas after the 2 s window.
    expect((await s.kubectl("-n", NS, "set", "env", "deploy/burn", "LOAD=0")).code).toBe(0);
    await eventually("the Deployment scaled back to 1", async () => (await replicas()) === 1);
  });
});
