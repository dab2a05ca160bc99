// ResourceQuota and LimitRange against a real `bramble server`, driven by the real kubectl: a
// LimitRange fills a pod's missing resources and refuses one over its max, a quota refuses the
// pod that would exceed it with upstream's words and shows Used/Hard in `describe`, and
// concurrent creates from separate kubectl processes never take more than the quota allows.
// No agent: quota counts pods whether or not they are scheduled.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { startTestServer, type TestServer } from "./helpers/server";
import { eventually } from "./helpers/eventually";

let server: TestServer;

const kubectl = async (...args: string[]) => {
  const r = await server.kubectl(...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};
const apply = async (manifest: string) => {
  const r = await server.kubectlWith({ stdin: manifest }, "apply", "-f", "-");
  if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
};
/** Waits until the quota controller has filled status.used (admission ignores a quota until then). */
const quotaCounted = (ns: string, name: string) =>
  eventually(`quota ${ns}/${name} counted`, async () => (await kubectl("get", "quota", name, "-n", ns, "-o", "jsonpath={.status.used}")).trim() || undefined, { timeoutMs: 15_000, intervalMs: 100 });

beforeAll(async () => {
  server = await startTestServer({ args: ["--disable-agent"] });
}, 60_000);

afterAll(async () => {
  await server?.cleanup();
});

test("LimitRange defaults and max; the quota refuses the pod over it in upstream's words", async () => {
  const kinds = await kubectl("api-resources", "--no-headers");
  expect(kinds).toMatch(/resourcequotas\s+quota\s+v1\s+true\s+ResourceQuota/);
  expect(kinds).toMatch(/limitranges\s+limits\s+v1\s+true\s+LimitRange/);
  await kubectl("create", "namespace", "team");
  await apply(`apiVersion: v1
kind: LimitRange
metadata:
  name: cpu-bounds
  namespace: team
spec:
  limits:
  - type: Container
    default: {cpu: 500m}
    defaultRequest: {cpu: 200m}
    max: {cpu: "1"}
---
apiVersion: v1
kind: ResourceQuota
metadata:
  name: compute
  namespace: team
spec:
  hard: {pods: "2", requests.cpu: "1", limits.cpu: "2"}
`);
  await quotaCounted("team", "compute");

  await kubectl("run", "first", "-n", "team", "--image=busybox", "--restart=Never");
  expect(await kubectl("get", "pod", "first", "-n", "team", "-o", "jsonpath={.spec.containers[0].resources}")).toBe('{"limits":{"cpu":"500m"},"requests":{"cpu":"200m"}}');
  expect(await kubectl("get", "pod", "first", "-n", "team", "-o", "jsonpath={.metadata.annotations.kubernetes\\.io/limit-ranger}")).toBe(
    "LimitRanger plugin set: cpu request for container first; cpu limit for container first",
  );

  const big = await server.kubectl("run", "big", "-n", "team", "--image=busybox", "--restart=Never", "--overrides", JSON.stringify({ spec: { containers: [{ name: "big", image: "busybox", resources: { limits: { cpu: "2" } } }] } }));
  expect(big.code).not.toBe(0);
  expect(big.stderr).toContain('Error from server (Forbidden): pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2');

  await kubectl("run", "second", "-n", "team", "--image=busybox", "--restart=Never");
  const third = await server.kubectl("run", "third", "-n", "team", "--image=busybox", "--restart=Never");
  expect(third.code).not.toBe(0);
  expect(third.stderr).toContain('Error from server (Forbidden): pods "third" is forbidden: exceeded quota: compute, requested: pods=1, used: pods=2, limited: pods=2');

  const row = (await kubectl("get", "quota", "-n", "team", "--no-headers")).trim().split(/\s{2,}/);
  expect(row[0]).toBe("compute");
  expect(row.slice(2)).toEqual(["pods: 2/2, requests.cpu: 400m/1", "limits.cpu: 1/2"]);
  const described = await kubectl("describe", "quota", "compute", "-n", "team");
  expect(described).toMatch(/limits\.cpu\s+1\s+2/);
  expect(described).toMatch(/pods\s+2\s+2/);
  expect(described).toMatch(/requests\.cpu\s+400m\s+1/);
  expect(await kubectl("get", "limits", "-n", "team", "-o", "name")).toBe("limitrange/cpu-bounds\n");
  expect(await kubectl("describe", "limits", "cpu-bounds", "-n", "team")).toMatch(/Container\s+cpu\s+-\s+1\s+200m\s+500m\s+-/);

  // Deleting a pod gives its room back once the controller has recounted.
  await kubectl("delete", "pod", "second", "-n", "team", "--wait=false");
  await eventually("pods used back to 1", async () => (await kubectl("get", "quota", "compute", "-n", "team", "-o", "jsonpath={.status.used.pods}")) === "1", { timeoutMs: 15_000, intervalMs: 100 });
  await kubectl("run", "third", "-n", "team", "--image=busybox", "--restart=Never");
}, 60_000);

test("concurrent creates from separate kubectl processes never overshoot the quota", async () => {
  await kubectl("create", "namespace", "race");
  await kubectl("create", "quota", "three", "-n", "race", "--hard=pods=3");
  await quotaCounted("race", "three");
  const results = await Promise.all(Array.from({ length: 8 }, (_, i) => server.kubectl("run", `p${i}`, "-n", "race", "--image=busybox", "--restart=Never")));
  expect(results.filter((r) => r.code === 0).length).toBe(3);
  for (const r of results.filter((r) => r.code !== 0)) expect(r.stderr).toContain("exceeded quota: three, requested: pods=1, used: pods=3, limited: pods=3");
  expect((await kubectl("get", "pods", "-n", "race", "--no-headers")).trim().split("\n").length).toBe(3);
  expect(await kubectl("get", "quota", "three", "-n", "race", "-o", "jsonpath={.status.used.pods}")).toBe("3");
}, 60_000);
