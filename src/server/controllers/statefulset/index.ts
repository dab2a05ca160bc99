// The StatefulSet controller, as `startControllers` runs it.
import type { KubeClient } from "../../../client/client";
import { SharedInformers } from "../informers";
import { StatefulSetController } from "./controller";

export { StatefulSetController } from "./controller";

/** Starts the controller once its caches are filled; `stop` ends the workers (and its own caches, if it made them). */
export async function startStatefulSetController(client: KubeClient, opts: { informers?: SharedInformers } = {}): Promise<{ stop(): Promise<void> }> {
  const shared = opts.informers ?? new SharedInformers(client);
  const controller = new StatefulSetController(client, shared);
  await controller.start();
  return {
    async stop() {
      await controller.stop();
      if (!opts.informers) shared.stop();
    },
  };
}
