import { afterAll, beforeAll, expect, test } from "bun:test";
import type { StorageClass } from "../../../api/resources/storage/storageclass";
import { startTestApi, type TestApi } from "../testing";
import { defaultStorageClass } from "./storage";

let on: TestApi;
let off: TestApi;
beforeAll(async () => {
  on = await startTestApi();
  off = await startTestApi({ localStorage: false });
});
afterAll(async () => {
  await on.stop();
  await off.stop();
});

const claim = (name: string, storageClassName?: string) => ({
  apiVersion: "v1",
  kind: "PersistentVolumeClaim",
  metadata: { name },
  spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } }, ...(storageClassName !== undefined && { storageClassName }) },
});

test("the local-path class is made at start, default, unless local storage is disabled", async () => {
  const sc = await on.call("GET", "/apis/storage.k8s.io/v1/storageclasses/local-path");
  expect(sc.status).toBe(200);
  expect(sc.body).toMatchObject({ provisioner: "rancher.io/local-path", reclaimPolicy: "Delete", volumeBindingMode: "WaitForFirstConsumer" });
  expect(sc.body.metadata.annotations["storageclass.kubernetes.io/is-default-class"]).toBe("true");
  expect((await off.call("GET", "/apis/storage.k8s.io/v1/storageclasses/local-path")).status).toBe(404);
});

test("DefaultStorageClass: a claim with no class gets the default; \"\" and a named class are kept; protection finalizers", async () => {
  const made = await on.call("POST", "/api/v1/namespaces/default/persistentvolumeclaims", claim("no-class"));
  expect(made.status).toBe(201);
  expect(made.body.spec.storageClassName).toBe("local-path");
  expect(made.body.metadata.finalizers).toEqual(["kubernetes.io/pvc-protection"]);
  expect((await on.call("POST", "/api/v1/namespaces/default/persistentvolumeclaims", claim("empty", ""))).body.spec.storageClassName).toBe("");
  expect((await on.call("POST", "/api/v1/namespaces/default/persistentvolumeclaims", claim("named", "fast"))).body.spec.storageClassName).toBe("fast");
  // Without a default class, the claim keeps no class.
  expect((await off.call("POST", "/api/v1/namespaces/default/persistentvolumeclaims", claim("no-class"))).body.spec.storageClassName).toBeUndefined();
  const pv = await on.call("POST", "/api/v1/persistentvolumes", { apiVersion: "v1", kind: "PersistentVolume", metadata: { name: "v" }, spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/srv" } } });
  expect(pv.status).toBe(201);
  expect(pv.body.metadata.finalizers).toEqual(["kubernetes.io/pv-protection"]);
  expect(pv.body.status).toEqual({ phase: "Pending" });
});

test("with several default classes the newest wins, then the first by name", () => {
  const sc = (name: string, created: string, dflt = true): StorageClass => ({
    metadata: { name, creationTimestamp: created, annotations: { "storageclass.kubernetes.io/is-default-class": dflt ? "true" : "false" } },
    provisioner: "x.io/p",
  });
  expect(defaultStorageClass([sc("old", "2024-01-01T00:00:00Z"), sc("new", "2024-02-01T00:00:00Z"), sc("newest-not-default", "2024-03-01T00:00:00Z", false)])?.metadata.name).toBe("new");
  expect(defaultStorageClass([sc("b", "2024-01-01T00:00:00Z"), sc("a", "2024-01-01T00:00:00Z")])?.metadata.name).toBe("a");
  expect(defaultStorageClass([])).toBeUndefined();
});

test("PersistentVolumeClaimResize: growth needs a bound claim whose class allows expansion; shrinking is still invalid", async () => {
  const base = "/api/v1/namespaces/default/persistentvolumeclaims";
  const sc = (name: string, allow?: boolean) => ({ apiVersion: "storage.k8s.io/v1", kind: "StorageClass", metadata: { name }, provisioner: "x.io/p", ...(allow !== undefined && { allowVolumeExpansion: allow }) });
  expect((await on.call("POST", "/apis/storage.k8s.io/v1/storageclasses", sc("grows", true))).status).toBe(201);
  expect((await on.call("POST", "/apis/storage.k8s.io/v1/storageclasses", sc("fixed", false))).status).toBe(201);
  const bound = async (name: string, cls: string) => {
    const made = await on.call("POST", base, claim(name, cls));
    expect(made.status).toBe(201);
    const st = await on.call("PUT", `${base}/${name}/status`, { ...made.body, status: { phase: "Bound", capacity: { storage: "1Gi" } } });
    expect(st.status).toBe(200);
    return st.body;
  };
  const grow = (obj: any, size: string) => on.call("PUT", `${base}/${obj.metadata.name}`, { ...obj, spec: { ...obj.spec, resources: { requests: { storage: size } } } });

  for (const [name, cls] of [["in-fixed", "fixed"], ["in-default", "local-path"], ["in-missing", "nowhere"]] as const) {
    const r = await grow(await bound(name, cls), "2Gi");
    expect(r.status).toBe(403);
    expect(r.body.reason).toBe("Forbidden");
    expect(r.body.message).toBe(`persistentvolumeclaims "${name}" is forbidden: only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must support resize`);
  }
  const ok = await grow(await bound("in-grows", "grows"), "2Gi");
  expect(ok.status).toBe(200);
  expect(ok.body.spec.resources.requests.storage).toBe("2Gi");
  expect(ok.body.status.capacity.storage).toBe("1Gi");
  const shrink = await grow(ok.body, "1Gi");
  expect(shrink.status).toBe(422);
  expect(shrink.body.message).toContain("spec.resources.requests.storage: Forbidden: field can not be less than previous value");
  // The same size again is no growth: other updates pass.
  expect((await on.call("PUT", `${base}/in-fixed`, { ...(await on.call("GET", `${base}/in-fixed`)).body, metadata: { ...(await on.call("GET", `${base}/in-fixed`)).body.metadata, labels: { a: "b" } } })).status).toBe(200);
});
