import { afterAll, beforeAll, expect, test } from "bun:test";
import { KINDS } from "../../../api/kinds";
import type { ClusterRole } from "../../../api/resources/rbac/rbac";
import { eventually, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { startClusterRoleAggregationController } from ".";

let env: ControllerTestEnv;
let ctl: { stop(): Promise<void> };
beforeAll(async () => {
  env = await startControllerTestEnv();
  ctl = await startClusterRoleAggregationController(env.client);
});
afterAll(async () => {
  await ctl.stop();
  await env.stop();
});

test("an aggregating ClusterRole follows the roles its selectors match: added, changed, relabelled, deleted", async () => {
  const roles = env.client.resource<ClusterRole>(KINDS.clusterRoles);
  const rule = (resource: string) => ({ verbs: ["get"], apiGroups: [""], resources: [resource] });
  await roles.create(undefined, { metadata: { name: "monitoring" }, aggregationRule: { clusterRoleSelectors: [{ matchLabels: { "example.com/aggregate-to-monitoring": "true" } }] } });
  await roles.create(undefined, { metadata: { name: "pods-reader", labels: { "example.com/aggregate-to-monitoring": "true" } }, rules: [rule("pods")] });
  await roles.create(undefined, { metadata: { name: "other" }, rules: [rule("secrets")] });
  const rulesOf = async () => ((await roles.get(undefined, "monitoring")).rules ?? []).map((r) => r.resources?.[0]);
  await eventually(async () => JSON.stringify(await rulesOf()) === '["pods"]', "pods-reader aggregated");

  await roles.create(undefined, { metadata: { name: "nodes-reader", labels: { "example.com/aggregate-to-monitoring": "true" } }, rules: [rule("nodes"), rule("pods")] });
  // Name order, each rule once.
  await eventually(async () => JSON.stringify(await rulesOf()) === '["nodes","pods"]', "nodes-reader aggregated");

  const other = await roles.get(undefined, "other");
  await roles.update({ ...other, metadata: { ...other.metadata, labels: { "example.com/aggregate-to-monitoring": "true" } } });
  await eventually(async () => JSON.stringify(await rulesOf()) === '["nodes","pods","secrets"]', "relabelled role aggregated");

  await roles.delete(undefined, "nodes-reader");
  await roles.delete(undefined, "pods-reader");
  expect(await eventually(async () => JSON.stringify(await rulesOf()) === '["secrets"]', "deleted roles' rules gone")).toBe(true);
});
