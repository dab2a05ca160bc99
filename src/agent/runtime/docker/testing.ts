// Docker for tests: the engine on the default socket (or $DOCKER_SOCKET). Without one, tests
// skip with a message locally, but CI (which installs and starts dockerd) must fail instead of
// silently skipping.
import { DEFAULT_DOCKER_SOCKET, DockerRuntime } from "./docker";
import { segment } from "./engine";

export async function dockerForTests(what: string): Promise<DockerRuntime | undefined> {
  const runtime = new DockerRuntime(process.env.DOCKER_SOCKET ?? DEFAULT_DOCKER_SOCKET);
  try {
    await runtime.version();
    return runtime;
  } catch (e) {
    const msg = `${what}: no Docker engine at ${runtime.socketPath} (${(e as Error).message})`;
    if (process.env.CI) throw new Error(`${msg}; CI must start dockerd before the tests`);
    console.warn(`SKIPPED ${msg}. Start dockerd to run these tests.`);
    return undefined;
  }
}

/**
 * Removes an image a test made unless some container (maybe another test's, on this shared
 * engine) still uses it: Docker refuses a non-forced removal then, and that is fine.
 */
export async function removeImageIfUnused(runtime: DockerRuntime, ref: string): Promise<void> {
  await runtime.engine.call("DELETE", `/images/${segment(ref)}`).catch(() => undefined);
}
