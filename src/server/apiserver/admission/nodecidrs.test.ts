// Node pod CIDRs through the API when the cluster range runs out.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { eventually } from "../../controllers/controllertest";
import { startTestApi, type TestApi } from "../testing";

const NODES = "/api/v1/nodes";
const node = (name: string) => ({ apiVersion: "v1", kind: "Node", metadata: { name }, status: { conditions: [{ type: "Ready", status: "True" }] } });

let t: TestApi;
beforeAll(async () => {
  // Room for two nodes' /24s.
  t = await startTestApi({ clusterCidr: "10.42.0.0/23" });
});
afterAll(() => t.stop());

test("a full range: the Node registers without a podCIDR and a CIDRNotAvailable event says why; freed blocks are handed out again", async () => {
  const a = (await t.call("POST", NODES, node("full-a"))).body;
  const b = (await t.call("POST", NODES, node("full-b"))).body;
  expect([a.spec.podCIDR, b.spec.podCIDR].sort()).toEqual(["10.42.0.0/24", "10.42.1.0/24"]);

  const c = await t.call("POST", NODES, node("full-c"));
  expect(c.status).toBe(201);
  expect(c.body.spec.podCIDR).toBeUndefined();
  expect(c.body.spec.podCIDRs).toBeUndefined();
  const event = await eventually(async () => {
    const items = (await t.call("GET", "/api/v1/namespaces/default/events")).body.items as any[];
    return items.find((e) => e.reason === "CIDRNotAvailable" && e.involvedObject.name === "full-c");
  }, "CIDRNotAvailable event");
  expect(event).toMatchObject({
    type: "Warning",
    message: "Node full-c status is now: CIDRNotAvailable",
    involvedObject: { kind: "Node", name: "full-c", uid: c.body.metadata.uid },
    source: { component: "cidrAllocator" },
  });

  // Its agent's status reports change nothing while the range is full...
  const still = await t.call("PATCH", `${NODES}/full-c/status`, { status: { conditions: [{ type: "Ready", status: "True", lastHeartbeatTime: "2026-01-01T00:00:00Z" }] } }, { "content-type": "application/strategic-merge-patch+json" });
  expect(still.status).toBe(200);
  expect(still.body.spec.podCIDR).toBeUndefined();

  // ...and once a node is deleted its block is free: the waiting node takes it at its next report,
  await t.call("DELETE", `${NODES}/full-a`);
  const got = await t.call("PATCH", `${NODES}/full-c/status`, { status: { conditions: [{ type: "Ready", status: "True", lastHeartbeatTime: "2026-01-01T00:00:10Z" }] } }, { "content-type": "application/strategic-merge-patch+json" });
  expect(got.body.spec.podCIDR).toBe(a.spec.podCIDR);
  expect(got.body.spec.podCIDRs).toEqual([a.spec.podCIDR]);
  expect((await t.call("GET", `${NODES}/full-c`)).body.spec.podCIDR).toBe(a.spec.podCIDR);

  // and a later node gets the block of another deleted one.
  await t.call("DELETE", `${NODES}/full-b`);
  const d = (await t.call("POST", NODES, node("full-d"))).body;
  expect(d.spec.podCIDR).toBe(b.spec.podCIDR);
});
