// One `kubectl attach` session on the agent: the exec bridge (channel protocol, queued frames,
// back-pressure, a Status at the end) around the runtime's attach to the container's main
// process instead of a new one. As upstream's kubelet does, an attach that ends reports Success:
// the process's exit code belongs to the pod's status, not to the session. The client leaving
// drops the engine connection; the process keeps running unless the container is stdinOnce
// (then its stdin closes with the attach's, which ends a shell).
import { ApiError } from "../../api/errors";
import type { ExecSubprotocol } from "../../api/kubelet-api";
import type { Logger } from "../../machinery/log";
import { NotFoundError, NotRunningError, type ContainerRuntime, type ExecSession } from "../runtime/runtime";
import { attachTarget, type ContainerRef } from "./containers";
import { ExecBridge, type StreamFlags } from "./exec";

export { parseStreamFlags as parseAttachQuery } from "./exec";

export function attachBridge(runtime: ContainerRuntime, nodeName: string, ref: ContainerRef, flags: StreamFlags, protocol: ExecSubprotocol, log: Logger): ExecBridge {
  const start = async (): Promise<ExecSession> => {
    const c = await attachTarget(runtime, nodeName, ref);
    try {
      const s = await runtime.attachStream(c.id, { stdin: flags.stdin, stdout: flags.stdout, stderr: flags.stderr });
      return { stdin: s.stdin, stdout: s.stdout, stderr: s.stderr, resize: s.resize, exitCode: s.ended.then(() => 0) };
    } catch (e) {
      // The container stopped or went away between the lookup and the attach.
      if (e instanceof NotRunningError) throw new ApiError(400, "BadRequest", `container "${ref.container}" in pod "${ref.pod}" is not running`);
      if (e instanceof NotFoundError) throw new ApiError(404, "NotFound", `container ${ref.container} not found in pod ${ref.pod}_${ref.namespace}`);
      throw e;
    }
  };
  return new ExecBridge(start, flags, protocol, log, "error attaching to container");
}
