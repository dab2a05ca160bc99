// What the eviction manager asks Docker directly (a plain request over the socket, as the node's
// Docker probe does): its data root (DockerRootDir from /info), the image filesystem whose space
// the imagefs signals measure, and the size of each pod's writable layers there.
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

/**
 * Bytes of each pod's containers' writable layers (SizeRw), by pod uid. Docker computes them on
 * request (a walk of each layer), so this is asked only under disk pressure on the image filesystem.
 */
export async function writableLayersByPod(socketPath: string, podUidLabel: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const filters = encodeURIComponent(JSON.stringify({ label: [podUidLabel] }));
  try {
    const res = await fetch(`http://docker/containers/json?all=1&size=1&filters=${filters}`, { unix: socketPath, signal: AbortSignal.timeout(60_000) });
    if (!res.ok) return out;
    for (const c of (await res.json()) as { Labels?: Record<string, string>; SizeRw?: number }[]) {
      const uid = c.Labels?.[podUidLabel];
      if (uid) out.set(uid, (out.get(uid) ?? 0) + (c.SizeRw ?? 0));
    }
  } catch {}
  return out;
}
