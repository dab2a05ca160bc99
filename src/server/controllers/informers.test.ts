import { afterAll, beforeAll, expect, test } from "bun:test";
import { configMaps } from "../../api/resources/core/configmap";
import type { Pod } from "../../api/resources/core/pod";
import { startControllerTestEnv, type ControllerTestEnv } from "./controllertest";
import { SharedInformers } from "./informers";

let env: ControllerTestEnv;
beforeAll(async () => {
  env = await startControllerTestEnv();
});
afterAll(async () => {
  await env.stop();
});

test("one informer per resource and filter; a late handler gets the cache replayed as adds", async () => {
  await env.client.resource(configMaps).create("default", { metadata: { name: "shared-1" }, data: {} });
  const shared = new SharedInformers(env.client);
  const a = shared.get(configMaps);
  expect(shared.get(configMaps)).toBe(a);
  expect(shared.get(configMaps, { namespace: "kube-system" })).not.toBe(a);
  const early: string[] = [];
  shared.on(a, { add: (o) => early.push(o.metadata.name!) });
  await shared.start(a);
  await shared.start(a); // idempotent
  const late: string[] = [];
  shared.on(a, { add: (o) => late.push(o.metadata.name!) });
  expect(early).toContain("shared-1");
  expect(late).toEqual(early);
  shared.stop();
});

test("the metadata informer keeps what ownership needs and drops bodies, labels and annotations", async () => {
  const owner = { apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "u-1", controller: true };
  await env.client.resource(configMaps).create("default", {
    metadata: { name: "owned-1", labels: { a: "b" }, annotations: { big: "x".repeat(1000) }, ownerReferences: [owner], finalizers: ["example.com/keep"] },
    data: { k: "v" },
  });
  const shared = new SharedInformers(env.client);
  const inf = shared.getMetadata(configMaps);
  await shared.start(inf);
  const o = inf.get("default/owned-1")!;
  expect(o.kind).toBe("ConfigMap");
  expect(o.metadata.uid).toBeString();
  expect(o.metadata.resourceVersion).toBeString();
  expect(o.metadata.namespace).toBe("default");
  expect(o.metadata.ownerReferences).toEqual([owner]);
  expect(o.metadata.finalizers).toEqual(["example.com/keep"]);
  expect(o.metadata.labels).toBeUndefined();
  expect(o.metadata.annotations).toBeUndefined();
  expect((o as { data?: unknown }).data).toBeUndefined();
  shared.stop();
  await env.client.resource(configMaps).patch("default", "owned-1", { metadata: { finalizers: null } }, "merge");
});

test("the shared pod informer keeps what control loops read and drops images, env, probes and volumes but claim references", async () => {
  const { pods } = await import("../../api/resources/core/pod");
  await env.client.resource(pods).create("default", {
    metadata: { name: "viewed", labels: { app: "a" }, annotations: { keep: "me", "kubectl.kubernetes.io/last-applied-configuration": "{}" } },
    spec: {
      containers: [
        {
          name: "web",
          image: "nginx",
          env: [{ name: "A", value: "b" }],
          ports: [{ name: "http", containerPort: 80, hostPort: 8080 }],
          resources: { requests: { cpu: "100m" } },
          readinessProbe: { httpGet: { path: "/", port: 80 } },
        },
      ],
      volumes: [{ name: "v", emptyDir: {} }, { name: "data", persistentVolumeClaim: { claimName: "data-0", readOnly: true } }],
      nodeSelector: { disk: "ssd" },
      tolerations: [{ key: "node.kubernetes.io/unreachable", operator: "Exists", effect: "NoExecute", tolerationSeconds: 30 }],
    },
  } as any);
  const shared = new SharedInformers(env.client);
  const inf = shared.get<Pod>(pods);
  await shared.start(inf);
  const p = inf.get("default/viewed")!;
  expect(p.metadata.labels).toEqual({ app: "a" });
  expect(p.metadata.annotations).toEqual({ keep: "me" });
  expect(p.spec!.nodeSelector).toEqual({ disk: "ssd" });
  expect(p.spec!.tolerations).toHaveLength(1); // node lifecycle reads them
  const c = p.spec!.containers[0]!;
  expect(c.name).toBe("web");
  expect(c.ports![0]!.hostPort).toBe(8080);
  expect(c.resources!.requests).toEqual({ cpu: "100m" });
  expect(c.image).toBeUndefined();
  expect(c.env).toBeUndefined();
  expect(c.readinessProbe).toBeUndefined();
  expect(p.spec!.volumes).toEqual([{ name: "data", persistentVolumeClaim: { claimName: "data-0" } }]);
  expect(p.status).toBeDefined();
  shared.stop();
  await env.client.resource(pods).delete("default", "viewed", { gracePeriodSeconds: 0 } as any);
});
