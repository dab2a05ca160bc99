// From the (namespace, pod, container) of a logs or exec request to the runtime's container,
// read from the labels the kubelet puts on every container. The newest attempt is the current
// one; the one before it is what `--previous` means (the kubelet keeps exactly that one).
import { ApiError } from "../../api/errors";
import { NODE_LABEL, attemptOf, kindOf } from "../kubelet/names";
import { LABELS, type ContainerInfo, type ContainerRuntime } from "../runtime/runtime";

export interface ContainerRef {
  namespace: string;
  pod: string;
  container: string;
  /** When given, only containers of this pod instance (not of an older pod of that name). */
  podUid?: string;
}

export async function podContainerAttempts(runtime: ContainerRuntime, nodeName: string, ref: ContainerRef): Promise<ContainerInfo[]> {
  const all = await runtime.listContainers({
    [NODE_LABEL]: nodeName,
    [LABELS.podNamespace]: ref.namespace,
    [LABELS.podName]: ref.pod,
    [LABELS.container]: ref.container,
    ...(ref.podUid ? { [LABELS.podUid]: ref.podUid } : {}),
  });
  return all.filter((c) => kindOf(c) !== "pause").sort((a, b) => attemptOf(b) - attemptOf(a) || b.createdAt.localeCompare(a.createdAt));
}

/** The container logs are read from; errors worded as upstream's kubelet words them. */
export async function logsContainer(runtime: ContainerRuntime, nodeName: string, ref: ContainerRef, previous: boolean): Promise<ContainerInfo> {
  const [current, before] = await podContainerAttempts(runtime, nodeName, ref);
  if (previous) {
    if (!before) throw new ApiError(400, "BadRequest", `previous terminated container "${ref.container}" in pod "${ref.pod}" not found`);
    return before;
  }
  if (!current || current.state === "created") throw new ApiError(400, "BadRequest", `container "${ref.container}" in pod "${ref.pod}" is waiting to start: ContainerCreating`);
  return current;
}

/** The running container an exec goes into. */
export async function execContainer(runtime: ContainerRuntime, nodeName: string, ref: ContainerRef): Promise<ContainerInfo> {
  const [current] = await podContainerAttempts(runtime, nodeName, ref);
  if (!current) throw new ApiError(404, "NotFound", `container not found ("${ref.container}")`);
  if (current.state !== "running") throw new ApiError(400, "BadRequest", `container "${ref.container}" in pod "${ref.pod}" is not running`);
  return current;
}

/** The container an attach joins: its newest attempt, which must be running. */
export async function attachTarget(runtime: ContainerRuntime, nodeName: string, ref: ContainerRef): Promise<ContainerInfo> {
  const [current] = await podContainerAttempts(runtime, nodeName, ref);
  // Upstream's kubelet names the pod by its full name, <name>_<namespace>.
  if (!current) throw new ApiError(404, "NotFound", `container ${ref.container} not found in pod ${ref.pod}_${ref.namespace}`);
  if (current.state !== "running") throw new ApiError(400, "BadRequest", `container "${ref.container}" in pod "${ref.pod}" is not running`);
  return current;
}
