import { describe, expect, test } from "bun:test";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import type { KubeObject } from "./meta";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { KINDS } from "./kinds";
import { findResource, findResourceByKind, findResourceByName, groupVersions, resources } from "./registry";

const now = new Date("2024-05-01T12:00:00Z");

describe("registry", () => {
  test("serves every resource bramble supports, once", () => {
    const ids = resources.map((r) => `${r.group || "core"}/${r.version}/${r.plural}`);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids.sort()).toEqual(
      [
        "admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
        "admissionregistration.k8s.io/v1/validatingwebhookconfigurations",
        "apiextensions.k8s.io/v1/customresourcedefinitions",
        "apps/v1/controllerrevisions",
        "apps/v1/daemonsets",
        "apps/v1/deployments",
        "apps/v1/replicasets",
        "apps/v1/statefulsets",
        "autoscaling/v2/horizontalpodautoscalers",
        "batch/v1/cronjobs",
        "batch/v1/jobs",
        "coordination.k8s.io/v1/leases",
        "rbac.authorization.k8s.io/v1/clusterrolebindings",
        "rbac.authorization.k8s.io/v1/clusterroles",
        "rbac.authorization.k8s.io/v1/rolebindings",
        "rbac.authorization.k8s.io/v1/roles",
        "core/v1/configmaps",
        "core/v1/endpoints",
        "core/v1/events",
        "core/v1/limitranges",
        "core/v1/namespaces",
        "core/v1/nodes",
        "core/v1/persistentvolumeclaims",
        "core/v1/persistentvolumes",
        "core/v1/pods",
        "core/v1/resourcequotas",
        "core/v1/replicationcontrollers",
        "core/v1/secrets",
        "core/v1/serviceaccounts",
        "core/v1/services",
        "scheduling.k8s.io/v1/priorityclasses",
        "policy/v1/poddisruptionbudgets",
        "discovery.k8s.io/v1/endpointslices",
        "storage.k8s.io/v1/storageclasses",
        "networking.k8s.io/v1/ingresses",
        "networking.k8s.io/v1/networkpolicies",
        "networking.k8s.io/v1/ingressclasses",
      ].sort(),
    );
  });

  test("lookups", () => {
    expect(findResource("", "v1", "pods")?.kind).toBe("Pod");
    expect(findResource("apps", "v1", "deployments")?.kind).toBe("Deployment");
    expect(findResource("apps", "v1", "pods")).toBeUndefined();
    expect(findResourceByKind("apps/v1", "ReplicaSet")?.plural).toBe("replicasets");
    expect(findResourceByKind("coordination.k8s.io/v1", "Lease")?.plural).toBe("leases");
    expect(findResourceByName("deploy")?.kind).toBe("Deployment");
    expect(findResourceByName("ns")?.kind).toBe("Namespace");
    expect(groupVersions()).toEqual([
      { group: "", version: "v1" },
      { group: "apps", version: "v1" },
      { group: "autoscaling", version: "v2" },
      { group: "batch", version: "v1" },
      { group: "coordination.k8s.io", version: "v1" },
      { group: "scheduling.k8s.io", version: "v1" },
      { group: "policy", version: "v1" },
      { group: "discovery.k8s.io", version: "v1" },
      { group: "rbac.authorization.k8s.io", version: "v1" },
      { group: "storage.k8s.io", version: "v1" },
      { group: "networking.k8s.io", version: "v1" },
      { group: "admissionregistration.k8s.io", version: "v1" },
      { group: "apiextensions.k8s.io", version: "v1" },
    ]);
  });

  test("short names as upstream's", () => {
    const short = Object.fromEntries(resources.map((r) => [r.plural, r.shortNames]));
    expect(short).toMatchObject({
      pods: ["po"],
      services: ["svc"],
      nodes: ["no"],
      namespaces: ["ns"],
      ingresses: ["ing"],
      networkpolicies: ["netpol"],
      deployments: ["deploy"],
      replicasets: ["rs"],
      replicationcontrollers: ["rc"],
      daemonsets: ["ds"],
      priorityclasses: ["pc"],
      configmaps: ["cm"],
      endpoints: ["ep"],
      serviceaccounts: ["sa"],
      events: ["ev"],
      statefulsets: ["sts"],
      persistentvolumeclaims: ["pvc"],
      persistentvolumes: ["pv"],
      storageclasses: ["sc"],
    });
  });

  for (const r of resources) {
    test(`${r.plural}: schema compiles, a minimal object round-trips, table rows fit the columns`, () => {
      const check = TypeCompiler.Compile(r.schema);
      const obj: KubeObject = {
        apiVersion: r.group ? `${r.group}/${r.version}` : r.version,
        kind: r.kind,
        metadata: { name: "x", creationTimestamp: "2024-05-01T11:00:00Z", ...(r.namespaced ? { namespace: "default" } : {}) },
      };
      if (r.kind === "Event") obj.involvedObject = { kind: "Pod", name: "p", namespace: "default" };
      if (r.kind === "StorageClass") obj.provisioner = "example.com/p";
      expect(check.Check(obj)).toBe(true);
      r.defaults(obj);
      expect([...check.Errors(obj)].map((e) => `${e.path}: ${e.message}`)).toEqual([]);
      const row = r.table.row(obj, now);
      expect(row.length).toBe(r.table.columns.length);
      expect(r.table.columns.filter((c) => c.priority === 0).length).toBeGreaterThan(0);
      expect(check.Check({ ...obj, bogusField: 1 })).toBe(false);
    });
  }
});

test("every definition is its row of the kind table, and no agent-facing identity needs a schema", () => {
  const identity = (d: Record<string, unknown>) => Object.fromEntries(Object.keys(KINDS.pods).map((k) => [k, d[k]]));
  expect(resources.map((d) => identity(d as unknown as Record<string, unknown>))).toEqual(Object.values(KINDS) as unknown as Record<string, unknown>[]);
  const table = readFileSync(join(import.meta.dir, "kinds.ts"), "utf8");
  expect(table).not.toMatch(/from\s+"[^"]*(typebox|schema|resources)/);
});
