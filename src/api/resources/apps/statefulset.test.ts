import { describe, expect, test } from "bun:test";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import "../formats";
import { statefulSets, type StatefulSet } from "./statefulset";

const now = new Date("2024-05-01T12:00:00Z");
const check = TypeCompiler.Compile(statefulSets.schema);

const sts = (): StatefulSet =>
  ({
    apiVersion: "apps/v1",
    kind: "StatefulSet",
    metadata: { name: "db", namespace: "default", creationTimestamp: "2024-05-01T11:00:00Z" },
    spec: {
      serviceName: "db",
      replicas: 3,
      selector: { matchLabels: { app: "db" } },
      template: {
        metadata: { labels: { app: "db" } },
        spec: { containers: [{ name: "pg", image: "postgres:16", volumeMounts: [{ name: "data", mountPath: "/var/lib/postgresql" }] }] },
      },
      volumeClaimTemplates: [{ apiVersion: "v1", kind: "PersistentVolumeClaim", metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }],
    },
  }) as StatefulSet;

const messages = (s: StatefulSet, old?: StatefulSet) => [...statefulSets.validate(s, old), ...(old ? statefulSets.immutable!(s, old) : [])].map((e) => `${e.field}: ${e.message}`);

describe("statefulsets", () => {
  test("a realistic manifest (mounts of claim templates included) passes the schema and validation", () => {
    const s = sts();
    expect([...check.Errors(s)].map((e) => e.path)).toEqual([]);
    statefulSets.defaults(s);
    expect(check.Check(s)).toBe(true);
    expect(messages(s)).toEqual([]);
  });

  test("upstream's defaults", () => {
    const s = sts();
    delete s.spec!.replicas;
    statefulSets.defaults(s);
    expect(s.spec).toMatchObject({
      replicas: 1,
      podManagementPolicy: "OrderedReady",
      updateStrategy: { type: "RollingUpdate", rollingUpdate: { partition: 0 } },
      revisionHistoryLimit: 10,
      persistentVolumeClaimRetentionPolicy: { whenDeleted: "Retain", whenScaled: "Retain" },
    });
    expect(s.spec!.template.spec!.restartPolicy).toBe("Always");
    expect(s.spec!.volumeClaimTemplates![0]).toMatchObject({ apiVersion: "v1", kind: "PersistentVolumeClaim", spec: { volumeMode: "Filesystem" }, status: { phase: "Pending" } });
    // OnDelete gets no rollingUpdate.
    const o = sts();
    o.spec!.updateStrategy = { type: "OnDelete" };
    statefulSets.defaults(o);
    expect(o.spec!.updateStrategy).toEqual({ type: "OnDelete" });
  });

  test("bad specs are refused with upstream's paths and words", () => {
    const s = sts();
    statefulSets.defaults(s);
    s.spec!.podManagementPolicy = "Random";
    s.spec!.updateStrategy = { type: "OnDelete", rollingUpdate: { partition: 1 } };
    s.spec!.persistentVolumeClaimRetentionPolicy = { whenDeleted: "Keep", whenScaled: "Retain" };
    s.spec!.replicas = -1;
    s.spec!.template.metadata!.labels = { app: "other" };
    s.spec!.template.spec!.activeDeadlineSeconds = 5;
    expect(messages(s)).toEqual(
      expect.arrayContaining([
        "spec.podManagementPolicy: Invalid value: \"Random\": must be 'OrderedReady' or 'Parallel'",
        "spec.updateStrategy.rollingUpdate: Invalid value: {\"partition\":1}: only allowed for updateStrategy 'RollingUpdate'",
        'spec.persistentVolumeClaimRetentionPolicy.whenDeleted: Unsupported value: "Keep": supported values: "Retain", "Delete"',
        "spec.replicas: Invalid value: -1: must be greater than or equal to 0",
        "spec.template.metadata.labels: Invalid value: \"app=other\": `selector` does not match template `labels`",
        "spec.template.spec.activeDeadlineSeconds: Forbidden: activeDeadlineSeconds in StatefulSet is not Supported",
      ]),
    );
    const r = sts();
    statefulSets.defaults(r);
    r.spec!.updateStrategy!.rollingUpdate = { partition: -1, maxUnavailable: 0 };
    r.spec!.selector = {};
    expect(messages(r)).toEqual(
      expect.arrayContaining([
        "spec.updateStrategy.rollingUpdate.partition: Invalid value: -1: must be greater than or equal to 0",
        "spec.updateStrategy.rollingUpdate.maxUnavailable: Invalid value: 0: cannot be 0",
        "spec.selector: Invalid value: {}: empty selector is invalid for statefulset",
      ]),
    );
  });

  test("a mount of a volume neither in the template nor a claim template is refused; claim templates need storage", () => {
    const s = sts();
    statefulSets.defaults(s);
    s.spec!.template.spec!.containers[0]!.volumeMounts!.push({ name: "logs", mountPath: "/logs" });
    delete s.spec!.volumeClaimTemplates![0]!.spec!.resources;
    const m = messages(s);
    expect(m).toContain('spec.template.spec.containers[0].volumeMounts[1].name: Not found: "logs"');
    expect(m).toContain("spec.volumeClaimTemplates[0].spec.resources[storage]: Required value");
  });

  test("names are DNS labels: the pods are named after the set", () => {
    expect(statefulSets.nameValidator!("web")).toEqual([]);
    expect(statefulSets.nameValidator!("web.example")).not.toEqual([]);
  });

  test("only replicas, ordinals, template, updateStrategy, revisionHistoryLimit, the retention policy and minReadySeconds change", () => {
    const old = sts();
    statefulSets.defaults(old);
    const ok = structuredClone(old);
    ok.spec!.replicas = 5;
    ok.spec!.template.spec!.containers[0]!.image = "postgres:17";
    ok.spec!.updateStrategy = { type: "OnDelete" };
    ok.spec!.minReadySeconds = 3;
    ok.spec!.revisionHistoryLimit = 2;
    ok.spec!.persistentVolumeClaimRetentionPolicy = { whenDeleted: "Delete", whenScaled: "Delete" };
    ok.spec!.ordinals = { start: 1 };
    expect(messages(ok, old)).toEqual([]);
    for (const change of [
      (s: StatefulSet) => void (s.spec!.serviceName = "other"),
      (s: StatefulSet) => void (s.spec!.podManagementPolicy = "Parallel"),
      (s: StatefulSet) => void (s.spec!.volumeClaimTemplates![0]!.spec!.resources!.requests!.storage = "2Gi"),
    ]) {
      const bad = structuredClone(old);
      change(bad);
      expect(messages(bad, old)).toEqual([
        "spec: Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'revisionHistoryLimit', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
      ]);
    }
  });

  test("status counts may not exceed replicas; collisionCount never goes down", () => {
    const old = sts();
    statefulSets.defaults(old);
    old.status = { replicas: 2, collisionCount: 2 };
    const s = structuredClone(old);
    s.status = { replicas: 1, readyReplicas: 2, availableReplicas: 1, collisionCount: 1 };
    expect(messages(s, old)).toEqual([
      "status.readyReplicas: Invalid value: 2: cannot be greater than status.replicas",
      "status.collisionCount: Invalid value: 1: cannot be decremented",
    ]);
  });

  test("table: NAME READY AGE, containers and images when wide", () => {
    const s = sts();
    s.status = { replicas: 3, readyReplicas: 2 };
    expect(statefulSets.table.columns.map((c) => [c.name, c.priority])).toEqual([["Name", 0], ["Ready", 0], ["Age", 0], ["Containers", 1], ["Images", 1]]);
    expect(statefulSets.table.row(s, now)).toEqual(["db", "2/3", "60m", "pg", "postgres:16"]);
  });
});
