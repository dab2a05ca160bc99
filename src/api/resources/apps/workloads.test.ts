import { describe, expect, test } from "bun:test";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import "../formats";
import { daemonSets, type DaemonSet } from "./daemonset";
import { deployments, type Deployment } from "./deployment";
import { replicaSets, type ReplicaSet } from "./replicaset";

const now = new Date("2024-05-01T12:00:00Z");
const check = TypeCompiler.Compile(deployments.schema);

const deployment = (): Deployment =>
  ({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "web", namespace: "default", labels: { app: "web" }, creationTimestamp: "2024-05-01T11:00:00Z" },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "In", values: ["fe", "be"] }] },
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1, maxUnavailable: "10%" } },
      template: {
        metadata: { labels: { app: "web", tier: "fe" }, annotations: { "prometheus.io/scrape": "true" } },
        spec: {
          containers: [
            { name: "nginx", image: "nginx:1.25", ports: [{ containerPort: 80 }], resources: { requests: { cpu: "100m", memory: "64Mi" } } },
            { name: "sidecar", image: "busybox", args: ["sleep", "infinity"] },
          ],
        },
      },
    },
  }) as Deployment;

describe("deployments", () => {
  test("a realistic manifest passes the schema and validation", () => {
    const d = deployment();
    expect([...check.Errors(d)].map((e) => e.path)).toEqual([]);
    deployments.defaults(d);
    expect(check.Check(d)).toBe(true);
    expect(deployments.validate(d)).toEqual([]);
  });

  test("unknown field fails the schema", () => {
    const d = deployment() as any;
    d.spec.replica = 2;
    expect(check.Check(d)).toBe(false);
  });

  test("defaults, including the pod template's", () => {
    const d = deployment();
    delete d.spec!.replicas;
    delete d.spec!.strategy;
    deployments.defaults(d);
    expect(d.spec).toMatchObject({
      replicas: 1,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "25%", maxUnavailable: "25%" } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
    });
    const tmpl = d.spec!.template.spec!;
    expect(tmpl.restartPolicy).toBe("Always");
    expect(tmpl.containers[1].imagePullPolicy).toBe("Always");
    // SetDefaults_Pod is for pods only.
    expect(tmpl.enableServiceLinks).toBeUndefined();
  });

  test("selector must match template labels", () => {
    const d = deployment();
    d.spec!.template.metadata!.labels = { app: "other", tier: "fe" };
    deployments.defaults(d);
    const errs = deployments.validate(d);
    expect(errs.map((e) => e.field)).toEqual(["spec.template.metadata.labels"]);
    expect(errs[0].message).toContain("`selector` does not match template `labels`");
  });

  test("empty selector, negative replicas, bad strategy", () => {
    const d = deployment();
    d.spec!.selector = {};
    d.spec!.replicas = -1;
    d.spec!.strategy = { type: "RollingUpdate", rollingUpdate: { maxSurge: 0, maxUnavailable: "0%" } };
    d.spec!.template.spec!.restartPolicy = "Never";
    deployments.defaults(d);
    expect(deployments.validate(d).map((e) => `${e.field} ${e.type}`)).toEqual([
      "spec.selector Invalid",
      "spec.template.spec.restartPolicy NotSupported",
      "spec.replicas Invalid",
      "spec.strategy.rollingUpdate.maxUnavailable Invalid",
    ]);
    const r = deployment();
    r.spec!.strategy = { type: "Recreate", rollingUpdate: { maxSurge: 1 } };
    r.spec!.template.spec!.containers[0].name = "Bad";
    deployments.defaults(r);
    expect(deployments.validate(r).map((e) => `${e.field} ${e.type}`)).toEqual([
      "spec.template.spec.containers[0].name Invalid",
      "spec.strategy.rollingUpdate Forbidden",
    ]);
  });

  test("selector is immutable", () => {
    const old = deployment();
    const next = deployment();
    expect(deployments.immutable!(next, old)).toEqual([]);
    next.spec!.selector = { matchLabels: { app: "web2" } };
    expect(deployments.immutable!(next, old)).toEqual([
      { field: "spec.selector", type: "Invalid", message: 'Invalid value: {"matchLabels":{"app":"web2"}}: field is immutable' },
    ]);
  });

  test("table row and scale", () => {
    const d = deployment();
    d.status = { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2, replicas: 3 };
    expect(deployments.table.columns.map((c) => `${c.name}:${c.priority}`)).toEqual([
      "Name:0",
      "Ready:0",
      "Up-to-date:0",
      "Available:0",
      "Age:0",
      "Containers:1",
      "Images:1",
      "Selector:1",
    ]);
    expect(deployments.table.row(d, now)).toEqual(["web", "2/3", 3, 2, "60m", "nginx,sidecar", "nginx:1.25,busybox", "app=web,tier in (be,fe)"]);
    const scale = deployments.scale!;
    expect(scale.specReplicas(d)).toBe(3);
    expect(scale.statusReplicas(d)).toBe(3);
    expect(scale.selector(d)).toBe("app=web,tier in (be,fe)");
    scale.setSpecReplicas(d, 5);
    expect(d.spec!.replicas).toBe(5);
  });
});

describe("replicasets", () => {
  const rs = (): ReplicaSet =>
    ({
      metadata: { name: "web-abc", namespace: "default", creationTimestamp: "2024-05-01T11:59:30Z" },
      spec: { selector: { matchLabels: { app: "web" } }, template: { metadata: { labels: { app: "web" } }, spec: { containers: [{ name: "c", image: "x:1" }] } } },
    }) as ReplicaSet;

  test("defaults, validation, table", () => {
    const r = rs();
    replicaSets.defaults(r);
    expect(r.spec!.replicas).toBe(1);
    expect(r.spec!.template!.spec!.dnsPolicy).toBe("ClusterFirst");
    expect(replicaSets.validate(r)).toEqual([]);
    r.status = { replicas: 1, readyReplicas: 1 };
    expect(replicaSets.table.row(r, now)).toEqual(["web-abc", 1, 1, 1, "30s", "c", "x:1", "app=web"]);
    expect(replicaSets.scale!.selector(r)).toBe("app=web");
  });

  test("selector required", () => {
    const r = rs() as any;
    delete r.spec.selector;
    expect(replicaSets.validate(r).map((e: { field: string }) => e.field)).toEqual(["spec.selector"]);
  });
});

describe("daemonsets", () => {
  const ds = (): DaemonSet =>
    ({
      metadata: { name: "agent", namespace: "kube-system", creationTimestamp: "2024-05-01T10:00:00Z" },
      spec: {
        selector: { matchLabels: { app: "agent" } },
        template: { metadata: { labels: { app: "agent" } }, spec: { nodeSelector: { "kubernetes.io/os": "linux" }, containers: [{ name: "a", image: "agent:2" }] } },
      },
    }) as DaemonSet;

  test("defaults and table", () => {
    const d = ds();
    daemonSets.defaults(d);
    expect(d.spec!.updateStrategy).toEqual({ type: "RollingUpdate", rollingUpdate: { maxUnavailable: 1, maxSurge: 0 } });
    expect(d.spec!.revisionHistoryLimit).toBe(10);
    expect(daemonSets.validate(d)).toEqual([]);
    d.status = { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, numberMisscheduled: 0, updatedNumberScheduled: 3, numberAvailable: 2 };
    expect(daemonSets.table.row(d, now)).toEqual(["agent", 3, 3, 2, 3, 2, "kubernetes.io/os=linux", "120m", "a", "agent:2", "app=agent"]);
  });

  test("maxUnavailable and maxSurge may not both be 0", () => {
    const d = ds();
    d.spec!.updateStrategy = { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 0 } };
    expect(daemonSets.validate(d).map((e) => e.field)).toEqual(["spec.updateStrategy.rollingUpdate.maxUnavailable"]);
  });
});
