// After a server restart, persisted Lease renewTimes can be one deferred-write flush window (5 min)
// old (src/server/apiserver/objects/heartbeat.ts). The monitor must not take that for a lost node:
// like upstream, it judges by when *it* saw the heartbeat change, and a heartbeat it has not seen
// change yet gets the grace period counted from its own start.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { leases, type Lease } from "../../../api/resources/coordination/lease";
import { nodes, type Node } from "../../../api/resources/core/node";
import { eventually, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { microTime } from "../leader";
import { startNodeLifecycleController } from ".";

let env: ControllerTestEnv;
beforeAll(async () => {
  env = await startControllerTestEnv();
});
afterAll(async () => {
  await env.stop();
});

const ago = (ms: number) => new Date(Date.now() - ms);
const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, "Z");
const readyOf = (n: Node) => n.status?.conditions?.find((c) => c.type === "Ready")?.status;

/** A node as the store may hold it after a restart: Ready, with a 5-minute-old heartbeat. */
async function staleNode(name: string) {
  const old = iso(ago(5 * 60_000));
  await env.client.resource<Node>(nodes).create(undefined, {
    metadata: { name },
    status: { conditions: [{ type: "Ready", status: "True", reason: "KubeletReady", lastHeartbeatTime: old, lastTransitionTime: old }] },
  });
  await env.client.resource<Lease>(leases).create("kube-node-lease", { metadata: { name }, spec: { holderIdentity: name, leaseDurationSeconds: 40, renewTime: microTime(Date.now() - 5 * 60_000) } });
}

test("old persisted renewTimes do not mark nodes lost at start; silence after the start does, one grace period later", async () => {
  await staleNode("alive");
  await staleNode("dead");
  const graceMs = 600;
  const started = Date.now();
  const ctl = await startNodeLifecycleController(env.client, { nodeMonitorGracePeriodS: graceMs / 1000 });
  try {
    // "alive" renews its Lease (as its agent does every 10 s); "dead" never does again.
    let renewing = true;
    const renewals = (async () => {
      while (renewing) {
        const l = await env.client.resource<Lease>(leases).get("kube-node-lease", "alive");
        await env.client.resource<Lease>(leases).update({ ...l, spec: { ...l.spec, renewTime: microTime() } });
        await Bun.sleep(100);
      }
    })();
    await Bun.sleep(graceMs / 2);
    // Half a grace period in, a 5-minute-old renewTime has not condemned anyone.
    for (const name of ["alive", "dead"]) expect(readyOf(await env.client.resource<Node>(nodes).get(undefined, name))).toBe("True");
    await eventually(async () => readyOf(await env.client.resource<Node>(nodes).get(undefined, "dead")) === "Unknown", "dead node Unknown");
    expect(Date.now() - started).toBeGreaterThanOrEqual(graceMs);
    expect(readyOf(await env.client.resource<Node>(nodes).get(undefined, "alive"))).toBe("True");
    renewing = false;
    await renewals;
  } finally {
    await ctl.stop();
  }
});
