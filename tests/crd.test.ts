// A CustomResourceDefinition as an operator's chart ships one, with the real kubectl: applied,
// its objects are served with the printer columns, validated against the schema with the field
// path, explained from the published OpenAPI, their status written through the subresource, and
// deleting the definition deletes them. One server, no node.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { eventually } from "./helpers/eventually";
import { startTestServer, type TestServer } from "./helpers/server";

let server: TestServer;

const kubectl = async (...args: string[]) => {
  const r = await server.kubectl(...args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
  return r.stdout;
};

const CRD = `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: crontabs.stable.example.com}
spec:
  group: stable.example.com
  scope: Namespaced
  names: {plural: crontabs, singular: crontab, kind: CronTab, shortNames: [ct]}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}, scale: {specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas}}
    additionalPrinterColumns:
    - {name: Spec, type: string, jsonPath: .spec.cronSpec, description: The cron spec}
    - {name: Replicas, type: integer, jsonPath: .spec.replicas}
    - {name: Phase, type: string, jsonPath: .status.phase}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            description: What the cron tab runs.
            required: [cronSpec]
            properties:
              cronSpec: {type: string, description: "When it runs, in cron syntax."}
              image: {type: string}
              replicas: {type: integer, minimum: 1, default: 1}
          status:
            type: object
            properties:
              phase: {type: string}
              replicas: {type: integer}
`;

const TAB = (name: string, replicas: unknown) => `
apiVersion: stable.example.com/v1
kind: CronTab
metadata: {name: ${name}}
spec: {cronSpec: "* * * * */5", image: my-cron-image, replicas: ${JSON.stringify(replicas)}}
`;

beforeAll(async () => {
  server = await startTestServer({ args: ["--disable-agent"] });
  const r = await server.kubectlWith({ stdin: CRD }, "apply", "-f", "-");
  if (r.code !== 0) throw new Error(`apply: ${r.stderr}`);
  await kubectl("wait", "--for=condition=Established", "crd/crontabs.stable.example.com", "--timeout=20s");
}, 60_000);

afterAll(async () => {
  await server?.cleanup();
});

test("objects are created, defaulted, pruned and listed with the printer columns", async () => {
  const r = await server.kubectlWith({ stdin: TAB("nightly", 2) + "---" + TAB("hourly", 1).replace("replicas: 1,", "") }, "apply", "-f", "-");
  expect(r.stderr).toBe("");
  const table = await kubectl("get", "crontabs");
  expect(table.split("\n")[0]!.split(/\s{2,}/)).toEqual(["NAME", "SPEC", "REPLICAS", "PHASE"]);
  expect(table).toMatch(/nightly\s+\* \* \* \* \*\/5\s+2/);
  const hourly = JSON.parse(await kubectl("get", "ct", "hourly", "-o", "json"));
  expect(hourly.spec).toEqual({ cronSpec: "* * * * */5", image: "my-cron-image", replicas: 1 });
  // kubectl asks for strict field validation: a field the schema does not know is refused;
  // without validation it is pruned.
  const unknown = TAB("extra", 1).replace("replicas: 1}", "replicas: 1, unknownField: x}");
  expect((await server.kubectlWith({ stdin: unknown }, "apply", "-f", "-")).stderr).toContain('strict decoding error: unknown field "spec.unknownField"');
  expect((await server.kubectlWith({ stdin: unknown }, "create", "--validate=false", "-f", "-")).code).toBe(0);
  expect(JSON.parse(await kubectl("get", "ct", "extra", "-o", "json")).spec).toEqual({ cronSpec: "* * * * */5", image: "my-cron-image", replicas: 1 });
  expect((await kubectl("api-resources", "--api-group=stable.example.com", "--no-headers")).trim().split(/\s+/)).toEqual(["crontabs", "ct", "stable.example.com/v1", "true", "CronTab"]);
});

test("a bad object is refused with the field path", async () => {
  const r = await server.kubectlWith({ stdin: TAB("bad", "string") }, "apply", "-f", "-");
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain('spec.replicas: Invalid value: "string": spec.replicas in body must be of type integer: "string"');
  const low = await server.kubectlWith({ stdin: TAB("low", 0) }, "apply", "-f", "-");
  expect(low.stderr).toContain("spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1");
});

test("kubectl explain shows the schema", async () => {
  const out = await kubectl("explain", "crontab.spec");
  expect(out).toContain("KIND:       CronTab");
  expect(out).toContain("FIELD: spec <Object>");
  expect(out).toContain("What the cron tab runs.");
  expect(out).toMatch(/cronSpec\s+<string> -required-/);
  expect(out).toContain("When it runs, in cron syntax.");
});

test("status is written through the subresource only", async () => {
  await kubectl("patch", "crontab", "nightly", "--subresource=status", "--type=merge", "-p", '{"status":{"phase":"Running"},"spec":{"replicas":9}}');
  const got = JSON.parse(await kubectl("get", "crontab", "nightly", "-o", "json"));
  expect(got.status).toEqual({ phase: "Running" });
  expect(got.spec.replicas).toBe(2);
  await kubectl("patch", "crontab", "nightly", "--type=merge", "-p", '{"status":{"phase":"Ignored"}}');
  expect(await kubectl("get", "crontab", "nightly", "-o", "jsonpath={.status.phase}")).toBe("Running");
  expect(await kubectl("get", "crontabs")).toMatch(/nightly\s+\* \* \* \* \*\/5\s+2\s+Running/);
});

test("after a restart the resource is served again at once", async () => {
  await server.stop();
  await server.restart();
  expect(await kubectl("get", "crontab", "nightly", "-o", "jsonpath={.spec.replicas} {.status.phase}")).toBe("2 Running");
});

test("a HorizontalPodAutoscaler scales a custom resource through its scale subresource", async () => {
  const r = await server.kubectlWith({ stdin: TAB("scaled", 5) }, "apply", "-f", "-");
  expect(r.code).toBe(0);
  const hpa = `
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: scaled}
spec:
  scaleTargetRef: {apiVersion: stable.example.com/v1, kind: CronTab, name: scaled}
  minReplicas: 1
  maxReplicas: 2
`;
  expect((await server.kubectlWith({ stdin: hpa }, "apply", "-f", "-")).code).toBe(0);
  // Above maxReplicas: brought down to it, as upstream, without needing any metric.
  await eventually("the custom resource scaled to 2", async () => (await kubectl("get", "crontab", "scaled", "-o", "jsonpath={.spec.replicas}")) === "2" || undefined, { timeoutMs: 20_000, intervalMs: 200 });
  const events = await kubectl("get", "events", "--field-selector", "involvedObject.name=scaled,involvedObject.kind=HorizontalPodAutoscaler", "-o", "jsonpath={.items[*].reason}");
  expect(events).toContain("SuccessfulRescale");
});

test("deleting the definition deletes its objects and its resource", async () => {
  await kubectl("delete", "crd", "crontabs.stable.example.com", "--timeout=20s");
  expect((await server.kubectl("get", "crontabs")).code).not.toBe(0);
  const left = await server.fetch("/apis/stable.example.com/v1/namespaces/default/crontabs");
  expect(left.status).toBe(404);
  // Defined again, the resource starts empty.
  await server.kubectlWith({ stdin: CRD }, "apply", "-f", "-");
  await kubectl("wait", "--for=condition=Established", "crd/crontabs.stable.example.com", "--timeout=20s");
  expect(await eventually("crontabs served again", async () => (await server.kubectl("get", "crontabs", "-o", "name")).code === 0 && (await kubectl("get", "crontabs", "-o", "name")))).toBeDefined();
  expect((await kubectl("get", "crontabs", "-o", "name")).trim()).toBe("");
});
