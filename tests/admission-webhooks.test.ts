// Admission webhooks against a real `bramble server`, driven by the real kubectl: a mutating
// webhook labels pods, a validating one refuses a labelled pod with its own message and warns,
// and a webhook that is down or hangs refuses writes (failurePolicy Fail) within its timeout or
// lets them through (Ignore). The webhooks are HTTPS servers this test runs on the host, reached
// by URL and trusted through the configuration's caBundle; no agent, as admission needs none.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { patchOf, startTestWebhook, type TestWebhook } from "../src/server/apiserver/admission/webhooks/test-server";
import { startTestServer, type TestServer } from "./helpers/server";

let server: TestServer;
let hook: TestWebhook;
let hanging: TestWebhook;

const kubectl = (...args: string[]) => server.kubectl(...args);
const apply = async (manifest: string) => {
  const r = await server.kubectlWith({ stdin: manifest }, "apply", "-f", "-");
  if (r.code !== 0) throw new Error(`kubectl apply: ${r.stderr}`);
};

const webhookYaml = (kind: "Mutating" | "Validating", name: string, url: string, caBundle: string, extra = "", operation = "CREATE") => `apiVersion: admissionregistration.k8s.io/v1
kind: ${kind}WebhookConfiguration
metadata:
  name: ${name}
webhooks:
- name: ${name}.bramble.test
  clientConfig:
    url: ${url}
    caBundle: ${caBundle}
  rules:
  - operations: ["${operation}"]
    apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["pods", "configmaps"]
  namespaceSelector:
    matchLabels: {webhooks: "on"}
  sideEffects: None
  admissionReviewVersions: ["v1"]
${extra}`;

beforeAll(async () => {
  hook = await startTestWebhook((r, path) => {
    const labels = r.object?.metadata?.labels;
    if (path === "/guard" && (r.oldObject as { metadata?: { labels?: Record<string, string> } })?.metadata?.labels?.keep === "yes")
      return { allowed: false, status: { code: 403, message: "this one stays" } };
    if (path === "/validate" && labels?.reject === "yes") return { allowed: false, status: { code: 403, message: "pods labelled reject=yes are not welcome here" }, warnings: ["checked by the test webhook"] };
    if (path !== "/mutate") return {};
    return labels ? patchOf([{ op: "add", path: "/metadata/labels/mutated", value: "yes" }]) : patchOf([{ op: "add", path: "/metadata/labels", value: { mutated: "yes" } }]);
  });
  hanging = await startTestWebhook(async () => {
    await Bun.sleep(5_000);
    return {};
  });
  server = await startTestServer({ args: ["--disable-agent"] });
}, 60_000);

afterAll(async () => {
  await server?.cleanup();
  hook?.stop();
  hanging?.stop();
});

test("a mutating webhook labels pods; a validating one refuses a pod with its message and warns", async () => {
  expect((await kubectl("create", "namespace", "hooked")).code).toBe(0);
  expect((await kubectl("label", "namespace", "hooked", "webhooks=on")).code).toBe(0);
  await apply(webhookYaml("Mutating", "label", hook.url("/mutate"), hook.caBundle));
  await apply(webhookYaml("Validating", "deny", hook.url("/validate"), hook.caBundle));
  const listed = await kubectl("get", "validatingwebhookconfigurations");
  expect(listed.stdout).toMatch(/^NAME\s+WEBHOOKS\s+AGE\n/);
  expect(listed.stdout).toMatch(/\ndeny\s+1\s+\S+/);
  expect((await kubectl("get", "mutatingwebhookconfiguration", "label", "-o", "jsonpath={.webhooks[0].failurePolicy} {.webhooks[0].timeoutSeconds}")).stdout).toBe("Fail 10");

  const run = await kubectl("run", "web", "-n", "hooked", "--image=busybox", "--restart=Never", "--labels=app=web");
  expect(run.code).toBe(0);
  expect((await kubectl("get", "pod", "web", "-n", "hooked", "-o", "jsonpath={.metadata.labels}")).stdout).toBe('{"app":"web","mutated":"yes"}');
  // Outside the selected namespace nothing is sent.
  expect((await kubectl("run", "plain", "--image=busybox", "--restart=Never")).code).toBe(0);
  expect((await kubectl("get", "pod", "plain", "-o", "jsonpath={.metadata.labels}")).stdout).not.toContain("mutated");

  const refused = await kubectl("run", "bad", "-n", "hooked", "--image=busybox", "--restart=Never", "--labels=reject=yes");
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain('admission webhook "deny.bramble.test" denied the request: pods labelled reject=yes are not welcome here');
  expect(refused.stderr).toContain("Warning: checked by the test webhook");
  expect((await kubectl("get", "pod", "bad", "-n", "hooked")).code).not.toBe(0);

  // A dry run reaches the webhooks too, and stores nothing.
  const dry = await kubectl("run", "dry", "-n", "hooked", "--image=busybox", "--restart=Never", "--dry-run=server", "-o", "jsonpath={.metadata.labels}");
  expect(dry.stdout).toContain('"mutated":"yes"');
  expect(hook.requests.at(-1)?.dryRun).toBe(true);
  expect((await kubectl("delete", "mutatingwebhookconfiguration", "label")).code).toBe(0);
  expect((await kubectl("delete", "validatingwebhookconfiguration", "deny")).code).toBe(0);
}, 30_000);

test("a delete is sent to webhooks with DELETE rules, which may refuse it", async () => {
  const kinds = (await kubectl("api-resources", "--api-group=admissionregistration.k8s.io", "--no-headers")).stdout;
  expect(kinds).toMatch(/mutatingwebhookconfigurations\s+admissionregistration.k8s.io\/v1\s+false\s+MutatingWebhookConfiguration/);
  expect(kinds).toMatch(/validatingwebhookconfigurations\s+admissionregistration.k8s.io\/v1\s+false\s+ValidatingWebhookConfiguration/);
  await apply(webhookYaml("Validating", "guard", hook.url("/guard"), hook.caBundle, "", "DELETE"));
  expect((await kubectl("create", "configmap", "precious", "-n", "hooked")).code).toBe(0);
  expect((await kubectl("label", "configmap", "precious", "-n", "hooked", "keep=yes")).code).toBe(0);
  const refused = await kubectl("delete", "configmap", "precious", "-n", "hooked");
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain('admission webhook "guard.bramble.test" denied the request: this one stays');
  expect((await kubectl("label", "configmap", "precious", "-n", "hooked", "keep-")).code).toBe(0);
  expect((await kubectl("delete", "configmap", "precious", "-n", "hooked")).code).toBe(0);
  expect((await kubectl("delete", "validatingwebhookconfiguration", "guard")).code).toBe(0);
}, 20_000);

test("a webhook that is down or hangs: Fail refuses within the timeout, Ignore lets the write through", async () => {
  await apply(webhookYaml("Validating", "down", "https://127.0.0.1:1/down", hook.caBundle, "  failurePolicy: Fail\n"));
  const down = await kubectl("create", "configmap", "one", "-n", "hooked");
  expect(down.code).not.toBe(0);
  expect(down.stderr).toContain('Internal error occurred: failed calling webhook "down.bramble.test": failed to call webhook: Post "https://127.0.0.1:1/down?timeout=10s"');

  await apply(webhookYaml("Validating", "down", hanging.url("/hang"), hanging.caBundle, "  failurePolicy: Fail\n  timeoutSeconds: 1\n"));
  const hung = await kubectl("create", "configmap", "two", "-n", "hooked");
  expect(hung.code).not.toBe(0);
  expect(hung.stderr).toContain('failed calling webhook "down.bramble.test": failed to call webhook: Post');
  expect(hung.stderr).toContain("context deadline exceeded");

  await apply(webhookYaml("Validating", "down", "https://127.0.0.1:1/down", hook.caBundle, "  failurePolicy: Ignore\n"));
  expect((await kubectl("create", "configmap", "three", "-n", "hooked")).code).toBe(0);
  expect((await kubectl("delete", "validatingwebhookconfiguration", "down")).code).toBe(0);
}, 30_000);

test("webhook configurations are validated as upstream", async () => {
  const r = await server.kubectlWith(
    { stdin: webhookYaml("Validating", "bad", "http://127.0.0.1/x", hook.caBundle, "  timeoutSeconds: 31\n").replace("bad.bramble.test", "bad") },
    "apply",
    "-f",
    "-",
  );
  expect(r.code).not.toBe(0);
  expect(r.stderr).toContain("should be a domain with at least three segments separated by dots");
  expect(r.stderr).toContain("'https' is the only allowed URL scheme");
  expect(r.stderr).toContain("the timeout value must be between 1 and 30 seconds");
});
