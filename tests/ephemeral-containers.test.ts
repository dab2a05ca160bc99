// `kubectl debug` for real: a `bramble server` process whose embedded agent runs pods on the
// Docker engine. kubectl patches pods/ephemeralcontainers, waits for the container's status and
// attaches to it; the debug container shares the pod's network and, with --target, the target
// container's processes. Needs dockerd (CI starts one; locally this skips without it).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { TEST_IMAGE } from "../src/agent/images/testimage";
import { dockerForTests } from "../src/agent/runtime/docker/testing";
import { testEnv } from "./helpers/env";
import { eventually as poll } from "./helpers/eventually";
import { removePodsOf, servingContainer, startServerWithNode } from "./helpers/pods";
import { parseJson, type TestServer } from "./helpers/server";

const docker = await dockerForTests("ephemeral container tests");
setDefaultTimeout(90_000);
const NS = `ec-${Date.now().toString(36)}`;
const haveScript = existsSync("/usr/bin/script");
let s: TestServer;

const eventually = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 60_000) => poll(what, f, { timeoutMs, intervalMs: 250, context: () => s?.log.slice(-5000) ?? "" });
const kc = (...args: string[]) => s.kubectl("-n", NS, ...args);
const podJson = async () => parseJson(await kc("get", "pod", "app", "-o", "json"));
const ephemeralState = async (name: string) => (await podJson()).status?.ephemeralContainerStatuses?.find((c: any) => c.name === name)?.state ?? {};

describe.skipIf(!docker)("kubectl debug with ephemeral containers", () => {
  beforeAll(async () => {
    s = await startServerWithNode(docker!);
    expect((await s.kubectl("create", "namespace", NS)).code).toBe(0);
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "app" }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "c", ...servingContainer("echo up") }] } };
    expect((await s.kubectlWith({ stdin: JSON.stringify(pod) }, "-n", NS, "create", "-f", "-")).code).toBe(0);
    await eventually("pod app running", async () => (await podJson()).status?.phase === "Running");
  }, 120_000);

  afterAll(async () => {
    await s?.cleanup();
    if (docker) await removePodsOf(docker, NS);
  });

  test("kubectl debug --target: the ephemeral container sees the target's processes and the pod's network, and is reported", async () => {
    const r = await kc("debug", "pod/app", `--image=${TEST_IMAGE}`, "--image-pull-policy=Never", "--profile=general", "--target=c", "-c", "peek", "--", "sh", "-c", "ps -o pid,args; hostname; cat /proc/net/dev | grep -c eth0");
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("Targeting container \"c\"");
    const terminated = await eventually("peek to finish", async () => (await ephemeralState("peek")).terminated);
    expect(terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
    const logs = (await kc("logs", "app", "-c", "peek")).stdout;
    // The target's PID 1 (its shell) and its sleep are visible from the debug container.
    expect(logs).toMatch(/^\s*1\s+sh -c trap/m);
    expect(logs).toContain("sleep 100000");
    // The pod's hostname and its interface: the sandbox's network namespace.
    expect(logs).toContain("\napp\n");
    const pod = await podJson();
    expect(pod.spec.ephemeralContainers[0]).toMatchObject({ name: "peek", targetContainerName: "c", image: TEST_IMAGE });
    // Exited, it is not restarted; the app container is untouched.
    expect(pod.status.ephemeralContainerStatuses[0].restartCount).toBe(0);
    expect(pod.status.containerStatuses[0]).toMatchObject({ name: "c", restartCount: 0, ready: true });
  });

  test.skipIf(!haveScript)("kubectl debug -it attaches to a shell in the new container", async () => {
    const argv = ["kubectl", "--kubeconfig", s.kubeconfig, "-n", NS, "debug", "-it", "pod/app", `--image=${TEST_IMAGE}`, "--image-pull-policy=Never", "--profile=general", "--target=c", "-c", "shell", "--", "sh"];
    const proc = Bun.spawn(["script", "-qec", argv.map((a) => `'${a}'`).join(" "), "/dev/null"], { stdin: "pipe", stdout: "pipe", stderr: "pipe", env: testEnv() });
    const timer = setTimeout(() => proc.kill("SIGKILL"), 80_000);
    let out = "";
    void (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of proc.stdout) out += decoder.decode(chunk, { stream: true });
    })();
    const write = (t: string) => {
      proc.stdin.write(t);
      proc.stdin.flush();
    };
    await eventually(`kubectl to attach; output so far ${JSON.stringify(out)}`, async () => out.includes("If you don't see a command prompt"));
    write("echo dbg-$((20+22)); ps | grep -c 'sleep 100000'\r");
    await eventually(`the shell's answer; output so far ${JSON.stringify(out)}`, async () => out.includes("dbg-42"));
    write("exit\r");
    expect(await proc.exited).toBe(0);
    clearTimeout(timer);
    await eventually("shell terminated", async () => (await ephemeralState("shell")).terminated);
    expect((await podJson()).spec.ephemeralContainers.map((c: any) => c.name)).toEqual(["peek", "shell"]);
  });
});
