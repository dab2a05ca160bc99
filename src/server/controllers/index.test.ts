import { afterAll, beforeAll, expect, test } from "bun:test";
import { namespaces } from "../../api/resources/core/namespace";
import { serviceAccounts } from "../../api/resources/core/serviceaccount";
import { eventually, getOrUndefined, startControllerTestEnv, type ControllerTestEnv } from "./controllertest";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { CONTROLLERS, startControllers } from ".";

let env: ControllerTestEnv;
beforeAll(async () => {
  env = await startControllerTestEnv();
});
afterAll(async () => {
  await env.stop();
});

test("two controller managers: one runs the controllers; when it stops the other takes over", async () => {
  const runs: string[] = [];
  const manager = (identity: string) =>
    startControllers(env.client, {
      identity,
      nodeMonitorGracePeriodS: 20,
      notReadyTolerationS: 10,
      caCertPem: "test-ca",
      disabled: ["replicaset", "deployment"],
      leaderElection: { leaseDurationS: 1, renewDeadlineS: 0.5, retryPeriodS: 0.05 },
      extra: [
        {
          name: "probe",
          start: async () => {
            runs.push(`start ${identity}`);
            return { stop: async () => void runs.push(`stop ${identity}`) };
          },
        },
      ],
    });
  const a = await manager("a");
  const b = await manager("b");
  await Promise.race([a.leading, b.leading]);
  const [leader, standby, names] = a.isLeader() ? [a, b, ["a", "b"]] : [b, a, ["b", "a"]];
  expect(standby.isLeader()).toBe(false);
  expect(runs).toEqual([`start ${names[0]}`]);
  // What readyz reads: the loops run on the leader; the standby sees who runs them.
  expect(leader.status()).toEqual({ running: true, failed: [], otherLeader: undefined, informersSynced: true });
  await eventually(() => (standby.status().otherLeader === names[0] ? true : undefined), "the standby to observe the leader");
  expect(standby.status()).toMatchObject({ running: false, failed: [] });

  // The leader's controllers work: a new namespace gets its default ServiceAccount.
  await env.client.resource(namespaces).create(undefined, { metadata: { name: "managed" } });
  await eventually(() => getOrUndefined(env.client.resource(serviceAccounts).get("managed", "default")), "default SA");

  await leader.stop();
  await standby.leading;
  expect(standby.isLeader()).toBe(true);
  expect(runs).toEqual([`start ${names[0]}`, `stop ${names[0]}`, `start ${names[1]}`]);
  await standby.stop();
  expect(runs.at(-1)).toBe(`stop ${names[1]}`);
});

test("every controller folder is one entry of the static list, each with its own name", () => {
  const dir = import.meta.dir;
  // history/ is a library the DaemonSet and StatefulSet controllers share, not a controller.
  const libraries = new Set(["history"]);
  const folders = readdirSync(dir).filter((f) => statSync(join(dir, f)).isDirectory() && !libraries.has(f));
  const source = readFileSync(join(dir, "index.ts"), "utf8");
  for (const folder of folders) expect(source).toContain(`from "./${folder}"`);
  expect(source).not.toMatch(/import\s*\(/);
  const names = CONTROLLERS.map((c) => c.name);
  expect(new Set(names).size).toBe(names.length);
  expect(CONTROLLERS.length).toBe(folders.length);
});

test("disabling a controller that does not exist is an error, not a silent no-op", async () => {
  await expect(startControllers(env.client, { identity: "x", nodeMonitorGracePeriodS: 20, notReadyTolerationS: 10, caCertPem: "test-ca", disabled: ["servicelbb"] })).rejects.toThrow(
    "no controller named servicelbb",
  );
});

test("status() names the controllers that failed to start; they are forgotten when the term ends", async () => {
  const m = await startControllers(env.client, {
    identity: "failing",
    nodeMonitorGracePeriodS: 20,
    notReadyTolerationS: 10,
    caCertPem: "test-ca",
    disabled: ["replicaset", "deployment"],
    leaderElection: { name: "failing-test", leaseDurationS: 1, renewDeadlineS: 0.5, retryPeriodS: 0.05 },
    extra: [{ name: "scheduler", start: async () => Promise.reject(new Error("no")) }],
  });
  await m.leading;
  expect(m.status()).toMatchObject({ running: true, failed: ["scheduler"], otherLeader: undefined });
  await m.stop();
  expect(m.status()).toMatchObject({ running: false, failed: [] });
});
