// Pods on a real node for the tests that need running containers (logs, exec): a `bramble
// server` process whose embedded agent runs them on this machine's Docker engine, the busybox
// test image, container specs that stop at once when their pod is deleted, and the clean-up of
// what a test namespace left on the engine.
import { SERVING_CERT_ANNOTATION } from "../../src/api/kubelet-api";
import { PAUSE_IMAGE } from "../../src/agent/images/pause";
import { TEST_IMAGE, ensureTestImage } from "../../src/agent/images/testimage";
import { removeImageIfUnused } from "../../src/agent/runtime/docker/testing";
import type { DockerRuntime } from "../../src/agent/runtime/docker/docker";
import { LABELS } from "../../src/agent/runtime/runtime";
import { eventually } from "./eventually";
import { parseJson, startTestServer, type TestServer } from "./server";

/** A container of the test image running `sh -c script`. */
export const shContainer = (script: string) => ({ image: TEST_IMAGE, imagePullPolicy: "Never", command: ["sh", "-c", script] });

/** Runs `script`, then stays up; PID 1 ignores SIGTERM unless it traps it, so this one stops at once. */
export const servingContainer = (script: string) => shContainer(`trap 'exit 0' TERM; ${script}; sleep 100000 & wait`);

/** A server with its embedded node, once that node advertises its agent endpoint (logs and exec need it). */
export async function startServerWithNode(docker: DockerRuntime, args?: string[]): Promise<TestServer> {
  await ensureTestImage(docker);
  // A free port for the agent's endpoint: other servers (or a kubelet) may hold 10250.
  process.env.BRAMBLE_KUBELET_PORT = "0";
  const s = await startTestServer({ agent: true, args });
  await eventually(
    "the embedded node with its agent endpoint",
    async () => {
      const nodes = parseJson(await s.kubectl("get", "nodes", "-o", "json")).items;
      return nodes.find((n: any) => n.status?.daemonEndpoints?.kubeletEndpoint?.Port > 0 && n.metadata.annotations?.[SERVING_CERT_ANNOTATION]);
    },
    { timeoutMs: 60_000, intervalMs: 250, context: () => s.log.slice(-5000) },
  );
  return s;
}

/** After the server is gone (its kubelet cannot clean up): removes the namespace's containers and unused test images. */
export async function removePodsOf(docker: DockerRuntime, namespace: string): Promise<void> {
  delete process.env.BRAMBLE_KUBELET_PORT;
  for (const c of await docker.listContainers({ [LABELS.podNamespace]: namespace })) await docker.removeContainer(c.id);
  await removeImageIfUnused(docker, TEST_IMAGE);
  await removeImageIfUnused(docker, PAUSE_IMAGE);
}
