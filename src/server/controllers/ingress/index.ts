// startIngressStatusController: writes status.loadBalancer.ingress of every Ingress bramble's
// built-in controller serves (its class's controller is bramble.io/ingress) to the InternalIPs of
// the Ready nodes, each of which answers on its ingress ports; `kubectl get ingress` shows them
// as ADDRESS. An Ingress that moves to another class has the addresses it was given cleared.
import { ApiError } from "../../../api/errors";
import { KINDS } from "../../../api/kinds";
import type { Node } from "../../../api/resources/core/node";
import type { Ingress } from "../../../api/resources/networking/ingress";
import type { IngressClass } from "../../../api/resources/networking/ingressclass";
import type { KubeClient } from "../../../client/client";
import { objectKeyOf } from "../../../client/informer";
import { ControlLoop } from "../../../machinery/controlloop";
import { SharedInformers } from "../informers";
import { addressState, ingressAddresses, servedByBramble } from "./addresses";

const current = (ing: Ingress) => (ing.status?.loadBalancer?.ingress ?? []).map((i) => i.ip || i.hostname || "");
const same = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

export async function startIngressStatusController(client: KubeClient, opts: { informers?: SharedInformers } = {}): Promise<{ stop(): Promise<void> }> {
  const shared = opts.informers ?? new SharedInformers(client);
  const ingresses = shared.get<Ingress>(KINDS.ingresses);
  const classes = shared.get<IngressClass>(KINDS.ingressClasses);
  const nodes = shared.get<Node>(KINDS.nodes);
  const api = client.resource<Ingress>(KINDS.ingresses);
  // What this controller wrote, so an Ingress moved to another class loses only bramble's addresses.
  const written = new Map<string, string[]>();

  const loop = new ControlLoop({
    name: "ingress-status-controller",
    async reconcile(key) {
      const ing = ingresses.get(key);
      if (!ing) return void written.delete(key);
      const served = servedByBramble(ing, (n) => classes.get(n));
      const have = current(ing);
      let desired: string[];
      if (served) desired = ingressAddresses(nodes.list());
      else {
        const ours = written.get(key);
        if (!ours || !same(have, ours)) return; // never touch another controller's status
        desired = [];
      }
      if (same(have, desired)) return;
      const [namespace, name] = key.split("/");
      try {
        await api.patch(namespace!, name!, { status: { loadBalancer: { ingress: desired.length ? desired.map((ip) => ({ ip })) : null } } }, "merge", "status");
        if (served) written.set(key, desired);
        else written.delete(key);
      } catch (e) {
        if (!(e instanceof ApiError && e.code === 404)) throw e;
      }
    },
  });

  const enqueueAll = () => {
    for (const i of ingresses.list()) loop.enqueue(objectKeyOf(i));
  };
  shared.on(ingresses, { add: (i) => loop.enqueue(objectKeyOf(i)), update: (_, i) => loop.enqueue(objectKeyOf(i)) });
  shared.on(classes, { add: enqueueAll, update: enqueueAll, delete: enqueueAll });
  shared.on(nodes, {
    add: enqueueAll,
    delete: enqueueAll,
    update: (o, n) => {
      if (addressState(o) !== addressState(n)) enqueueAll();
    },
  });
  await Promise.all([ingresses, classes, nodes].map((i) => shared.start(i)));
  loop.start();
  return {
    async stop() {
      await loop.stop();
      if (!opts.informers) shared.stop();
    },
  };
}
