// pods/ephemeralcontainers: the subresource kubectl debug patches.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestApi, type TestApi } from "../testing";

let t: TestApi;
const path = "/api/v1/namespaces/default/pods/web/ephemeralcontainers";
const SMP = { "content-type": "application/strategic-merge-patch+json" };
const debug = (name: string, extra: Record<string, unknown> = {}) => ({ name, image: "busybox", stdin: true, tty: true, resources: {}, terminationMessagePolicy: "File", ...extra });

beforeAll(async () => {
  t = await startTestApi();
  const created = await t.call("POST", "/api/v1/namespaces/default/pods", { metadata: { name: "web" }, spec: { containers: [{ name: "app", image: "busybox" }] } });
  expect(created.status).toBe(201);
});
afterAll(() => t.stop());

test("GET returns the pod; a strategic merge patch adds an ephemeral container and nothing else changes", async () => {
  const got = await t.call("GET", path);
  expect(got.status).toBe(200);
  expect(got.body.kind).toBe("Pod");
  const patched = await t.call("PATCH", path, { spec: { ephemeralContainers: [debug("debugger-1", { targetContainerName: "app" })], containers: [{ name: "app", image: "other" }] } }, SMP);
  expect(patched.status).toBe(200);
  expect(patched.body.spec.ephemeralContainers).toHaveLength(1);
  expect(patched.body.spec.ephemeralContainers[0]).toMatchObject({ name: "debugger-1", targetContainerName: "app", imagePullPolicy: "Always" });
  // Only ephemeralContainers is taken from the request.
  expect(patched.body.spec.containers[0].image).toBe("busybox");
  expect(patched.body.metadata.generation).toBe(2);
});

test("PUT appends; existing ephemeral containers may not change or go", async () => {
  const pod = (await t.call("GET", path)).body;
  pod.spec.ephemeralContainers.push(debug("debugger-2"));
  const put = await t.call("PUT", path, pod);
  expect(put.status).toBe(200);
  expect(put.body.spec.ephemeralContainers.map((c: { name: string }) => c.name)).toEqual(["debugger-1", "debugger-2"]);

  const removed = structuredClone(put.body);
  removed.spec.ephemeralContainers = [removed.spec.ephemeralContainers[1]];
  removed.metadata.resourceVersion = undefined;
  const r = await t.call("PUT", path, removed);
  expect(r.status).toBe(422);
  expect(r.body.message).toContain('spec.ephemeralContainers: Forbidden: existing ephemeral containers "debugger-1" may not be removed');

  const changed = structuredClone(put.body);
  changed.spec.ephemeralContainers[0].image = "alpine";
  changed.metadata.resourceVersion = undefined;
  const c = await t.call("PUT", path, changed);
  expect(c.status).toBe(422);
  expect(c.body.message).toContain('spec.ephemeralContainers[debugger-1]: Forbidden: existing ephemeral containers "debugger-1" may not be changed');
});

test("validation: targets must exist, names are unique in the pod, no probes or ports; none through the pod itself or on create", async () => {
  const bad = await t.call("PATCH", path, { spec: { ephemeralContainers: [debug("x", { targetContainerName: "nope", ports: [{ containerPort: 80 }] }), debug("app")] } }, SMP);
  expect(bad.status).toBe(422);
  expect(bad.body.message).toContain('targetContainerName: Not found: "nope"');
  expect(bad.body.message).toContain("ports: Forbidden: cannot be set for an Ephemeral Container");
  expect(bad.body.message).toContain('Duplicate value: "app"');

  const viaPod = await t.call("PATCH", "/api/v1/namespaces/default/pods/web", { spec: { ephemeralContainers: [debug("sneaky")] } }, SMP);
  expect(viaPod.status).toBe(422);
  const onCreate = await t.call("POST", "/api/v1/namespaces/default/pods", { metadata: { name: "early" }, spec: { containers: [{ name: "app", image: "busybox" }], ephemeralContainers: [debug("dbg")] } });
  expect(onCreate.status).toBe(422);
  expect(onCreate.body.message).toContain("spec.ephemeralContainers: Forbidden: cannot be set on create");
});

test("discovery lists pods/ephemeralcontainers", async () => {
  const list = await t.call("GET", "/api/v1");
  const sub = list.body.resources.find((r: { name: string }) => r.name === "pods/ephemeralcontainers");
  expect(sub).toMatchObject({ kind: "Pod", verbs: ["get", "patch", "update"] });
});
