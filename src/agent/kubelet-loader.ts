// The kubelet is built in src/agent/kubelet/ in parallel with the rest of the agent. Until it
// lands the agent still joins, registers and heartbeats its node; once it does, this starts it.
// The import path is a variable so type checking and the binary build do not need the module
// yet. TODO: make it a literal import once src/agent/kubelet/index.ts exists (the bundler then
// embeds it in the compiled binary, where a variable path cannot be resolved).
import type { KubeClient } from "../client/client";
import type { Logger } from "../machinery/log";

export interface KubeletOptions {
  nodeName: string;
  dataDir: string;
  clusterDns?: string;
  apiServerHost: string;
  apiServerPort: number;
  caCertPem: string;
  podNetwork?: string;
}

type StartKubelet = (client: KubeClient, runtime: unknown, opts: KubeletOptions) => Promise<{ stop(): Promise<void> | void }>;

export async function startKubeletIfPresent(client: KubeClient, dockerSocket: string, opts: KubeletOptions, log: Logger): Promise<{ stop(): Promise<void> | void } | undefined> {
  const kubeletModule = "./kubelet/index";
  let mod: { startKubelet?: StartKubelet };
  try {
    mod = await import(kubeletModule);
  } catch (e) {
    const msg = (e as Error).message ?? "";
    if (/cannot find module|not found/i.test(msg)) {
      log.info("no kubelet in this build: the node registers and heartbeats but runs no pods");
      return undefined;
    }
    throw e;
  }
  if (!mod.startKubelet) return undefined;
  const { DockerRuntime } = await import("./runtime/docker/docker");
  return mod.startKubelet(client, new DockerRuntime(dockerSocket), opts);
}
