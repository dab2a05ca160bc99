// Docker for tests: the engine on the default socket (or $DOCKER_SOCKET). Without one, tests
// skip with a message locally, but CI (which installs and starts dockerd) must fail instead of
// silently skipping.
import { DEFAULT_DOCKER_SOCKET, DockerRuntime } from "./docker";
import { segment } from "./engine";
import { requirements } from "../../../machinery/test-requirements";

/**
 * The local engine, or undefined (the reason printed) when none answers: tests skip on undefined
 * (`describe.skipIf(!rt)`); in CI a missing engine fails the file (machinery/test-requirements).
 */
export async function dockerForTests(what: string): Promise<DockerRuntime | undefined> {
  const runtime = new DockerRuntime(process.env.DOCKER_SOCKET ?? DEFAULT_DOCKER_SOCKET);
  const missing = await runtime.version().then(
    () => undefined,
    (e: unknown) => `no Docker engine answers at ${runtime.socketPath} (${(e as Error).message}); start dockerd to run these tests`,
  );
  return requirements(what, missing) === undefined ? runtime : undefined;
}

/**
 * Removes an image a test made unless some container (maybe another test's, on this shared
 * engine) still uses it: Docker refuses a non-forced removal then, and that is fine.
 */
export async function removeImageIfUnused(runtime: DockerRuntime, ref: string): Promise<void> {
  await runtime.engine.call("DELETE", `/images/${segment(ref)}`).catch(() => undefined);
}
