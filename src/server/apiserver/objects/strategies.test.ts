// The per-kind hooks of the resource definitions, as the generic object layer applies them over
// HTTP: name grammars, status kept on create, refused and controller-finished deletions, grace.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestApi, type TestApi } from "../testing";

let t: TestApi;
beforeAll(async () => {
  t = await startTestApi();
});
afterAll(() => t.stop());

test("names follow each kind's grammar: a DNS-1035 label for Services, a DNS-1123 label for Namespaces, a subdomain otherwise", async () => {
  const svc = await t.call("POST", "/api/v1/namespaces/default/services", { metadata: { name: "1web" }, spec: { ports: [{ port: 80 }] } });
  expect(svc.status).toBe(422);
  expect(svc.body.details.causes[0]).toMatchObject({ field: "metadata.name" });
  expect(svc.body.details.causes[0].message).toContain("a DNS-1035 label must consist");
  const ns = await t.call("POST", "/api/v1/namespaces", { metadata: { name: "a.b" } });
  expect(ns.status).toBe(422);
  expect(ns.body.details.causes[0].message).toContain("RFC 1123 label");
  const cm = await t.call("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "1web.a.b" } });
  expect(cm.status).toBe(201);
});

test("a Node's status sent on create is kept; a Pod's is the controllers' and replaced", async () => {
  const node = await t.call("POST", "/api/v1/nodes", { metadata: { name: "n1" }, status: { nodeInfo: { kubeletVersion: "v1.32.0" } } });
  expect(node.status).toBe(201);
  expect(node.body.status.nodeInfo.kubeletVersion).toBe("v1.32.0");
  const pod = await t.call("POST", "/api/v1/namespaces/default/pods", {
    metadata: { name: "p" },
    spec: { containers: [{ name: "c", image: "busybox" }] },
    status: { phase: "Running", podIP: "10.42.0.9" },
  });
  expect(pod.status).toBe(201);
  expect(pod.body.status.phase).toBe("Pending");
  expect(pod.body.status.podIP).toBeUndefined();
});

test("the namespaces the cluster needs cannot be deleted", async () => {
  const res = await t.call("DELETE", "/api/v1/namespaces/kube-system");
  expect(res.status).toBe(403);
  expect(res.body.message).toBe('namespaces "kube-system" is forbidden: this namespace may not be deleted');
});

test("a deleted namespace is marked Terminating, once, and stays while its spec.finalizers remain", async () => {
  await t.call("POST", "/api/v1/namespaces", { metadata: { name: "going", finalizers: ["example.com/hold"] } });
  const first = await t.call("DELETE", "/api/v1/namespaces/going");
  expect(first.body.status.phase).toBe("Terminating");
  expect(first.body.metadata.deletionGracePeriodSeconds).toBe(0);
  const again = await t.call("DELETE", "/api/v1/namespaces/going");
  expect(again.body.metadata.resourceVersion).toBe(first.body.metadata.resourceVersion);
  // Its last metadata finalizer goes, but spec.finalizers ("kubernetes") still hold it.
  const released = await t.call("PUT", "/api/v1/namespaces/going", { ...again.body, metadata: { ...again.body.metadata, finalizers: [] } });
  expect(released.status).toBe(200);
  expect((await t.call("GET", "/api/v1/namespaces/going")).status).toBe(200);
});

test("a pod bound to a node gets its grace period; an unbound pod goes at once", async () => {
  const spec = { containers: [{ name: "c", image: "busybox" }], terminationGracePeriodSeconds: 12 };
  await t.call("POST", "/api/v1/namespaces/default/pods", { metadata: { name: "bound" }, spec: { ...spec, nodeName: "n1" } });
  await t.call("POST", "/api/v1/namespaces/default/pods", { metadata: { name: "unbound" }, spec });
  const bound = await t.call("DELETE", "/api/v1/namespaces/default/pods/bound");
  expect(bound.body.metadata.deletionGracePeriodSeconds).toBe(12);
  const shorter = await t.call("DELETE", "/api/v1/namespaces/default/pods/bound?gracePeriodSeconds=3");
  expect(shorter.body.metadata.deletionGracePeriodSeconds).toBe(3);
  const longer = await t.call("DELETE", "/api/v1/namespaces/default/pods/bound?gracePeriodSeconds=60");
  expect(longer.body.metadata.deletionGracePeriodSeconds).toBe(3);
  await t.call("DELETE", "/api/v1/namespaces/default/pods/unbound");
  expect((await t.call("GET", "/api/v1/namespaces/default/pods/unbound")).status).toBe(404);
});
