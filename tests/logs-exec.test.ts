// `kubectl logs` and `kubectl exec` for real: a `bramble server` process whose embedded agent
// runs pods on the Docker engine, and the installed kubectl (which speaks WebSocket
// v5.channel.k8s.io for exec). Needs dockerd (CI starts one; locally this skips without it).
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { TEST_IMAGE } from "../src/agent/images/testimage";
import { dockerForTests } from "../src/agent/runtime/docker/testing";
import { parseJson, type TestServer } from "./helpers/server";
import { eventually as poll } from "./helpers/eventually";
import { removePodsOf, servingContainer as serve, startServerWithNode } from "./helpers/pods";
import { missingCommand, requirements } from "../src/machinery/test-requirements";

const docker = await dockerForTests("logs/exec tests");
// Each test waits on real containers and kubectl processes (no timing is asserted).
setDefaultTimeout(90_000);
const NS = `le-${Date.now().toString(36)}`;
const haveScript = !requirements("kubectl exec -it", missingCommand("script", "util-linux: a terminal for kubectl"));
let s: TestServer;

const eventually = <T>(what: string, f: () => Promise<T | undefined | false>, timeoutMs = 60_000) => poll(what, f, { timeoutMs, intervalMs: 250, context: () => s?.log.slice(-5000) ?? "" });

const kc = (...args: string[]) => s.kubectl("-n", NS, ...args);
const podJson = async (name: string) => parseJson(await kc("get", "pod", name, "-o", "json"));
const running = (name: string) => eventually(`pod ${name} running`, async () => (await podJson(name)).status?.phase === "Running");

describe.skipIf(!docker)("kubectl logs and exec through the API server and the node's agent", () => {
  beforeAll(async () => {
    s = await startServerWithNode(docker!);
    expect((await s.kubectl("create", "namespace", NS)).code).toBe(0);
    const pods = [
      {
        metadata: { name: "talker" },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [
            { name: "main", ...serve("for i in 1 2 3 4 5; do echo line $i; done") },
            { name: "side", ...serve("echo side-hello") },
          ],
        },
      },
      {
        // Crashes once, then stays up: its previous container said "attempt-1".
        metadata: { name: "crasher" },
        spec: {
          terminationGracePeriodSeconds: 1,
          volumes: [{ name: "state", emptyDir: {} }],
          containers: [
            {
              name: "c",
              ...serve('n=$(($(cat /state/n 2>/dev/null || echo 0) + 1)); echo $n > /state/n; echo attempt-$n; [ $n -ge 2 ] || exit 1'),
              volumeMounts: [{ name: "state", mountPath: "/state" }],
            },
          ],
        },
      },
    ];
    for (const p of pods) {
      const r = await s.kubectlWith({ stdin: JSON.stringify({ apiVersion: "v1", kind: "Pod", ...p }) }, "-n", NS, "create", "-f", "-");
      expect(r.stderr).toBe("");
    }
    await running("talker");
    await eventually("talker's lines", async () => (await kc("logs", "talker", "-c", "main")).stdout.includes("line 5"));
  }, 120_000);

  afterAll(async () => {
    await s?.cleanup();
    if (docker) await removePodsOf(docker, NS);
  });

  test("logs, --tail, --timestamps, -c and the default container", async () => {
    const all = await kc("logs", "talker", "-c", "main");
    expect(all).toMatchObject({ code: 0, stdout: "line 1\nline 2\nline 3\nline 4\nline 5\n" });
    expect((await kc("logs", "talker", "-c", "main", "--tail", "2")).stdout).toBe("line 4\nline 5\n");
    const stamped = (await kc("logs", "talker", "-c", "main", "--timestamps", "--tail", "1")).stdout;
    expect(stamped).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z line 5\n$/);
    expect((await kc("logs", "talker", "-c", "side")).stdout).toBe("side-hello\n");
    const defaulted = await kc("logs", "talker");
    expect(defaulted.stdout).toBe(all.stdout);
    expect(defaulted.stderr).toContain('Defaulted container "main" out of: main, side');
    expect((await kc("logs", "talker", "-c", "main", "--limit-bytes", "8")).stdout).toBe("line 1\nl");
  });

  test("logs -f streams lines written after it started, and stops when killed", async () => {
    const follow = s.spawnKubectl("-n", NS, "logs", "-f", "talker", "-c", "main");
    try {
      await follow.waitFor((out) => out.includes("line 5"));
      // Written to PID 1's stdout, i.e. into the container's log, while kubectl is following.
      const w = await kc("exec", "talker", "-c", "main", "--", "sh", "-c", "echo fresh-line > /proc/1/fd/1");
      expect(w.code).toBe(0);
      const out = await follow.waitFor((o) => o.includes("fresh-line"));
      expect(out).toBe("line 1\nline 2\nline 3\nline 4\nline 5\nfresh-line\n");
    } finally {
      await follow.stop();
    }
  });

  test("logs --previous shows the crashed container's output", async () => {
    await eventually("crasher restarted", async () => (await podJson("crasher")).status?.containerStatuses?.[0]?.restartCount >= 1 && (await kc("logs", "crasher")).stdout === "attempt-2\n");
    expect(await kc("logs", "crasher", "--previous")).toMatchObject({ code: 0, stdout: "attempt-1\n" });
    const none = await kc("logs", "talker", "-c", "side", "--previous");
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain('previous terminated container "side" in pod "talker" not found');
  });

  test("exec prints output and exits with the command's exit code", async () => {
    const r = await kc("exec", "talker", "-c", "main", "--", "sh", "-c", "echo hi; echo oops >&2; exit 3");
    expect(r.code).toBe(3);
    expect(r.stdout).toBe("hi\n");
    expect(r.stderr).toContain("oops\n");
    expect(r.stderr).toContain("command terminated with exit code 3");
    expect(await kc("exec", "talker", "-c", "side", "--", "true")).toMatchObject({ code: 0, stdout: "" });
  });

  test("exec -i passes stdin through and ends it at EOF", async () => {
    const r = await s.kubectlWith({ stdin: "abc\ndef\n" }, "-n", NS, "exec", "-i", "talker", "-c", "main", "--", "cat");
    expect(r).toMatchObject({ code: 0, stdout: "abc\ndef\n" });
  });

  test.skipIf(!haveScript)("exec -it gets a terminal", async () => {
    // `script` gives kubectl a pty, so it asks for tty=true as a user's terminal would.
    const cmd = `kubectl --kubeconfig ${s.kubeconfig} -n ${NS} exec -it talker -c main -- sh -c 'tty; exit 4'`;
    const p = Bun.spawn(["script", "-qec", cmd, "/dev/null"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
    const timer = setTimeout(() => p.kill("SIGKILL"), 30_000);
    const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
    clearTimeout(timer);
    expect(out).toContain("/dev/pts/");
    expect(code).toBe(4);
  });

  test("errors before the upgrade are Statuses kubectl prints", async () => {
    const noPod = await kc("exec", "nopod", "--", "true");
    expect(noPod.stderr).toContain('pods "nopod" not found');
    const badContainer = await kc("exec", "talker", "-c", "nope", "--", "true");
    expect(badContainer.stderr).toContain("container nope is not valid for pod talker");
    expect((await kc("logs", "talker", "-c", "nope")).stderr).toContain("container nope is not valid for pod talker");
  });

  test("a node without an agent endpoint gets a clear 503, not a crash", async () => {
    const ghost = { apiVersion: "v1", kind: "Node", metadata: { name: `${NS}-ghost` } };
    expect((await s.kubectlWith({ stdin: JSON.stringify(ghost) }, "create", "-f", "-")).code).toBe(0);
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { name: "stranded" }, spec: { nodeName: ghost.metadata.name, containers: [{ name: "c", image: TEST_IMAGE }] } };
    expect((await s.kubectlWith({ stdin: JSON.stringify(pod) }, "-n", NS, "create", "-f", "-")).code).toBe(0);
    const logs = await kc("logs", "stranded");
    expect(logs.code).not.toBe(0);
    expect(logs.stderr).toContain("ServiceUnavailable");
    expect(logs.stderr).toContain(`node "${ghost.metadata.name}" does not advertise an agent endpoint`);
    const exec = await kc("exec", "stranded", "--", "true");
    expect(exec.stderr).toContain("does not advertise an agent endpoint");
    await s.kubectl("delete", "node", ghost.metadata.name);
  });
});
