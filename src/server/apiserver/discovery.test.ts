import { expect, test } from "bun:test";
import { resources } from "../../api/registry";
import { resourceList } from "./discovery";

const listed = (groupVersion: string, group: string) =>
  JSON.parse(JSON.stringify(resourceList(groupVersion, resources.filter((d) => d.group === group)))).resources as Record<string, unknown>[];
const entry = (list: Record<string, unknown>[], name: string) => list.find((r) => r.name === name);

test("the all category holds upstream's workload kinds; other kinds carry no categories", () => {
  const core = listed("v1", "");
  const apps = listed("apps/v1", "apps");
  const inAll = [...core, ...apps].filter((r) => (r.categories as string[] | undefined)?.includes("all")).map((r) => r.name);
  expect(inAll.sort()).toEqual(["daemonsets", "deployments", "pods", "replicasets", "replicationcontrollers", "services", "statefulsets"]);
  expect(entry(core, "configmaps")).not.toHaveProperty("categories");
});

test("a subresource names its body's kind, and its group-version only when that differs from the parent's", () => {
  const core = listed("v1", "");
  const apps = listed("apps/v1", "apps");
  expect(entry(core, "pods/status")).toMatchObject({ kind: "Pod" });
  expect(entry(core, "pods/status")).not.toHaveProperty("group");
  expect(entry(core, "pods/binding")).toMatchObject({ kind: "Binding", verbs: ["create"] });
  expect(entry(core, "pods/binding")).not.toHaveProperty("group");
  expect(entry(core, "pods/eviction")).toMatchObject({ kind: "Eviction", group: "policy", version: "v1" });
  expect(entry(apps, "deployments/scale")).toMatchObject({ kind: "Scale", group: "autoscaling", version: "v1" });
  expect(entry(core, "serviceaccounts/token")).toMatchObject({ kind: "TokenRequest", group: "authentication.k8s.io", version: "v1" });
});
