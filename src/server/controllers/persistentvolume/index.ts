// The persistent-volume controller, as `startControllers` runs it.
import type { KubeClient } from "../../../client/client";
import { SharedInformers } from "../informers";
import { PersistentVolumeController, type PersistentVolumeControllerOptions } from "./controller";

export { PersistentVolumeController } from "./controller";

export async function startPersistentVolumeController(client: KubeClient, opts: PersistentVolumeControllerOptions & { informers?: SharedInformers } = {}): Promise<{ stop(): Promise<void> }> {
  const shared = opts.informers ?? new SharedInformers(client);
  const controller = new PersistentVolumeController(client, shared, opts);
  await controller.start();
  return {
    async stop() {
      await controller.stop();
      if (!opts.informers) shared.stop();
    },
  };
}
