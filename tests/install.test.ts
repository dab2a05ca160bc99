// scripts/install.sh as a newcomer runs it, in a clean environment that touches nothing of this
// machine's: BRAMBLE_DATA_DIR, BRAMBLE_BIN_DIR, BRAMBLE_KUBECONFIG and HOME in a temp dir, a port
// of its own, and — so its node's pod network, iptables rules and containers meet no other
// server's — a network namespace with a Docker engine of its own, named by DOCKER_HOST (the script
// checks that engine and hands it to the server's embedded agent). The script must leave a
// server running with its node Ready; then the installed binary stops it and resets the data dir.
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../scripts/lab/config";
import { TEST_IMAGE } from "../src/agent/images/testimage";
import { LABELS } from "../src/agent/runtime/runtime";
import { netnsServerSkipReason, startNetnsServer, type NetnsServer } from "./helpers/netns-server";

// The script builds the binary (bun install + bun run build) before it starts anything.
setDefaultTimeout(600_000);

const PORT = 16443;

describe.skipIf(!!netnsServerSkipReason)("scripts/install.sh in a clean environment", () => {
  let node: NetnsServer | undefined;
  const home = mkdtempSync(join(tmpdir(), "bramble-install-"));
  const paths = { data: join(home, "data"), bin: join(home, "bin"), kubeconfig: join(home, "kube", "config") };
  const pidFile = join(paths.data, "server", "bramble.pid");
  const stopInstalled = () => {
    if (!existsSync(pidFile)) return;
    try {
      process.kill(Number(readFileSync(pidFile, "utf8").trim()), "SIGTERM");
    } catch {
      // already gone
    }
  };
  afterAll(async () => {
    stopInstalled();
    await node?.destroy();
    rmSync(home, { recursive: true, force: true });
  });

  test("installs into the given dirs, starts a server whose node is Ready; the installed binary stops and resets it", async () => {
    node = await startNetnsServer("install", { server: false });
    const { BRAMBLE_DOCKER_SOCKET: _ignored, ...inherited } = process.env;
    const env = {
      ...inherited,
      HOME: home,
      KUBECONFIG: "",
      BRAMBLE_DATA_DIR: paths.data,
      BRAMBLE_BIN_DIR: paths.bin,
      BRAMBLE_KUBECONFIG: paths.kubeconfig,
      BRAMBLE_PORT: String(PORT),
      BRAMBLE_READY_TIMEOUT: "120",
      // The script's `docker info` and the server's node both use the namespace's engine through it.
      DOCKER_HOST: `unix://${node.dockerSocket}`,
    };
    const install = Bun.spawn(
      ["nsenter", `--net=/var/run/netns/${node.nsName}`, "bash", join(REPO_ROOT, "scripts", "install.sh"), "--node-name", node.nodeName, "--node-ip", node.ip, "--advertise-address", node.ip],
      { cwd: home, env, stdout: "pipe", stderr: "pipe" },
    );
    const [out, err, code] = await Promise.all([new Response(install.stdout).text(), new Response(install.stderr).text(), install.exited]);
    expect({ code, err: code === 0 ? "" : `${err}\n${out}` }).toEqual({ code: 0, err: "" });
    expect(out).toContain("[bramble install] ready: ");

    // Everything went where it was told to, nothing to the machine's defaults.
    expect(statSync(join(paths.bin, "bramble")).mode & 0o111).not.toBe(0);
    expect(existsSync(join(paths.data, "server", "admin.kubeconfig"))).toBe(true);
    expect(readFileSync(paths.kubeconfig, "utf8")).toContain(`server: https://${node.ip}:${PORT}`);
    const pid = Number(readFileSync(pidFile, "utf8").trim());
    expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(0, 2)).toEqual([join(paths.bin, "bramble"), "server"]);

    const kubectl = (...args: string[]) => {
      const r = Bun.spawnSync(["nsenter", `--net=/var/run/netns/${node!.nsName}`, "kubectl", "--kubeconfig", paths.kubeconfig, ...args], { env, stdout: "pipe", stderr: "pipe" });
      return { out: r.stdout.toString(), err: r.stderr.toString() };
    };
    expect(kubectl("get", "node", node.nodeName, "-o", "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}")).toEqual({ out: "True", err: "" });
    // The node runs its pods on the engine DOCKER_HOST named (the namespace's), not on the machine's.
    expect(kubectl("run", "hello", "--image", TEST_IMAGE, "--image-pull-policy", "Never", "--restart", "Never", "--command", "--", "sleep", "100000").err).toBe("");
    expect(kubectl("wait", "--for=condition=Ready", "pod/hello", "--timeout=60s").err).toBe("");
    expect((await node.docker.listContainers({ [LABELS.podName]: "hello" })).length).toBeGreaterThanOrEqual(2); // sandbox + app

    // Stop it as the script says (kill the pid), then reset with the installed binary.
    stopInstalled();
    for (let i = 0; i < 150 && existsSync(`/proc/${pid}`); i++) await Bun.sleep(100);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    const reset = Bun.spawnSync(["nsenter", `--net=/var/run/netns/${node.nsName}`, join(paths.bin, "bramble"), "reset", "--force", "--data-dir", paths.data, "--docker-socket", node.dockerSocket], { env, stdout: "pipe", stderr: "pipe" });
    expect({ code: reset.exitCode, stderr: reset.stderr.toString() }).toEqual({ code: 0, stderr: "" });
    expect(existsSync(paths.data)).toBe(false);
    expect((await node.docker.listContainers({ [LABELS.managed]: undefined })).length).toBe(0);
  });
});
