import { afterAll, beforeAll, expect, test } from "bun:test";
import { leases, type Lease } from "../../api/resources/coordination/lease";
import { eventually, startControllerTestEnv, type ControllerTestEnv } from "./controllertest";
import { LeaderElector, microTime } from "./leader";

let env: ControllerTestEnv;
beforeAll(async () => {
  env = await startControllerTestEnv();
});
afterAll(async () => {
  await env.stop();
});

function contender(identity: string, name: string) {
  const log: string[] = [];
  const e = new LeaderElector(env.client, {
    identity,
    name,
    leaseDurationS: 1,
    renewDeadlineS: 0.5,
    retryPeriodS: 0.05,
    onStartedLeading: () => void log.push("started"),
    onStoppedLeading: () => void log.push("stopped"),
  });
  return { e, log };
}

test("microTime has microseconds, like upstream's MicroTime", () => {
  expect(microTime(Date.UTC(2024, 0, 2, 3, 4, 5, 678))).toBe("2024-01-02T03:04:05.678000Z");
});

test("of two contenders only one leads; the other takes over once the lease expires", async () => {
  const a = contender("a", "race");
  const b = contender("b", "race");
  a.e.start();
  b.e.start();
  await eventually(() => a.e.isLeader || b.e.isLeader, "a leader");
  const [leader, other] = a.e.isLeader ? [a, b] : [b, a];
  await Bun.sleep(300); // several renewals: the other never leads meanwhile
  expect(other.e.isLeader).toBe(false);
  expect(other.log).toEqual([]);
  const lease = await env.client.resource<Lease>(leases).get("kube-system", "race");
  expect(lease.spec).toMatchObject({ holderIdentity: leader === a ? "a" : "b", leaseDurationSeconds: 1, leaseTransitions: 0 });
  expect(lease.spec?.renewTime).toMatch(/\.\d{6}Z$/);

  await leader.e.stop({ release: false }); // a crash: no hand-back, the lease must expire
  expect(leader.log).toEqual(["started", "stopped"]);
  await eventually(() => other.e.isLeader, "takeover after expiry", 200, 25);
  const after = await env.client.resource<Lease>(leases).get("kube-system", "race");
  expect(after.spec).toMatchObject({ holderIdentity: leader === a ? "b" : "a", leaseTransitions: 1 });
  await other.e.stop();
});

test("a graceful stop hands the lease back at once; a leader that sees another holder stops leading", async () => {
  const a = contender("a", "handover");
  a.e.start();
  await eventually(() => a.e.isLeader, "a leads");
  await a.e.stop();
  expect((await env.client.resource<Lease>(leases).get("kube-system", "handover")).spec?.holderIdentity).toBe("");
  const b = contender("b", "handover");
  b.e.start();
  await eventually(() => b.e.isLeader, "b leads without waiting for expiry", 20, 25);

  // Someone else overwrites the lease (e.g. after a partition): b must step down.
  const rc = env.client.resource<Lease>(leases);
  const lease = await rc.get("kube-system", "handover");
  await rc.update({ ...lease, spec: { ...lease.spec, holderIdentity: "intruder", renewTime: microTime(), leaseDurationSeconds: 60 } });
  await eventually(() => !b.e.isLeader, "b steps down");
  expect(b.log).toEqual(["started", "stopped"]);
  await b.e.stop();
});
