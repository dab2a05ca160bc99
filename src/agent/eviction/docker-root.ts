// Docker's data root (DockerRootDir from the Engine API's /info): the image filesystem whose
// space the imagefs signals measure.
const TIMEOUT_MS = 5_000;

export async function dockerRootDir(socketPath: string): Promise<string | undefined> {
  try {
    const res = await fetch("http://docker/info", { unix: socketPath, signal: AbortSignal.timeout(TIMEOUT_MS) });
    if (!res.ok) return undefined;
    const info = (await res.json()) as { DockerRootDir?: string };
    return info.DockerRootDir || undefined;
  } catch {
    return undefined;
  }
}
