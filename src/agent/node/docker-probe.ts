// Is the Docker engine there? A plain HTTP request over its unix socket (no dockerode), so the
// node can report the runtime's version and health even before (or without) the kubelet. The
// node is NotReady while the engine does not answer, with the socket in the message, and Ready
// again by itself once it does.
import type { ConditionReport } from "./conditions";

export interface DockerStatus {
  reachable: boolean;
  /** "docker://20.10.24+dfsg1" when reachable. */
  runtimeVersion?: string;
  error?: string;
}

const PROBE_TIMEOUT_MS = 3_000;

export async function probeDocker(socketPath: string): Promise<DockerStatus> {
  try {
    const res = await fetch("http://docker/version", { unix: socketPath, signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    if (!res.ok) return { reachable: false, error: `HTTP ${res.status} from /version` };
    const v = (await res.json()) as { Version?: string };
    return { reachable: true, runtimeVersion: `docker://${v.Version ?? "unknown"}` };
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { reachable: false, error: err.code ?? err.message };
  }
}

/** The Ready condition while the engine is unreachable (upstream's kubelet says "container runtime is down"). */
export function dockerDownCondition(socketPath: string, error: string | undefined): ConditionReport {
  return {
    status: "False",
    reason: "ContainerRuntimeUnreachable",
    message: `container runtime is down: cannot reach the Docker engine at unix://${socketPath}${error ? ` (${error})` : ""}`,
  };
}
