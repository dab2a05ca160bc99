import { afterAll, beforeAll, expect, test } from "bun:test";
import { nodes, type Node } from "../../../api/resources/core/node";
import { pods, type Pod } from "../../../api/resources/core/pod";
import { eventually, getOrUndefined, startControllerTestEnv, type ControllerTestEnv } from "../controllertest";
import { startPodGarbageCollector } from ".";

let env: ControllerTestEnv;
let ctl: { stop(): Promise<void> };
beforeAll(async () => {
  env = await startControllerTestEnv();
  ctl = await startPodGarbageCollector(env.client);
});
afterAll(async () => {
  await ctl.stop();
  await env.stop();
});

const podsC = () => env.client.resource<Pod>(pods);
const nodesC = () => env.client.resource<Node>(nodes);
const pod = (name: string, nodeName?: string): Pod => ({
  metadata: { name },
  spec: { ...(nodeName && { nodeName }), containers: [{ name: "c", image: "busybox" }] },
});

test("deleting a node deletes its pods, terminating or not; pods on other nodes stay", async () => {
  await nodesC().create(undefined, { metadata: { name: "gone-soon" } });
  await nodesC().create(undefined, { metadata: { name: "stays" } });
  await podsC().create("default", pod("a", "gone-soon"));
  await podsC().create("default", pod("b", "gone-soon"));
  await podsC().delete("default", "b"); // graceful: waits for an agent that will never come
  await podsC().create("default", pod("c", "stays"));
  // A pod on a node that never existed, created after the others, is collected only once the
  // collector has seen (and judged) every pod before it: then a and c, whose nodes exist, are still there.
  await podsC().create("default", pod("barrier", "never-existed"));
  await eventually(async () => !(await getOrUndefined(podsC().get("default", "barrier"))), "the barrier pod collected");
  expect(await getOrUndefined(podsC().get("default", "a"))).toBeDefined();
  expect(await getOrUndefined(podsC().get("default", "c"))).toBeDefined();
  await nodesC().delete(undefined, "gone-soon");
  await eventually(async () => !(await getOrUndefined(podsC().get("default", "a"))) && !(await getOrUndefined(podsC().get("default", "b"))), "pods of the deleted node gone");
  expect(await getOrUndefined(podsC().get("default", "c"))).toBeDefined();
});

test("a pod bound to a node that never existed is deleted", async () => {
  await podsC().create("default", pod("nowhere", "no-such-node"));
  await eventually(async () => !(await getOrUndefined(podsC().get("default", "nowhere"))), "orphan pod gone");
});
