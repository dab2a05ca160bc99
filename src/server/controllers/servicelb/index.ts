// startServiceLBController: k3s's ServiceLB without its DaemonSet. For every LoadBalancer
// Service (without a loadBalancerClass) it writes the serving nodes' addresses into
// status.loadBalancer.ingress (see addresses.ts), so `kubectl get svc` shows them as
// EXTERNAL-IP; the agents' service proxy opens the Service's ports on those addresses. The list
// follows nodes joining, leaving, turning NotReady and relabelling, and a Service that stops
// being a LoadBalancer has its addresses cleared (as upstream's service controller does).
import { ApiError } from "../../../api/errors";
import { endpoints as endpointsDef, type Endpoints } from "../../../api/resources/core/endpoints";
import { nodes as nodesDef, type Node } from "../../../api/resources/core/node";
import { services as servicesDef, type Service } from "../../../api/resources/core/service";
import type { KubeClient } from "../../../client/client";
import { EventRecorder } from "../../../client/events";
import { objectKeyOf } from "../../../client/informer";
import { SharedInformers } from "../informers";
import { ControlLoop } from "../../../machinery/controlloop";
import { assignPorts, currentIngress, ingressOf, lbRelevantNodeState, lbRelevantServiceState, loadBalancerIPs, wantsLoadBalancer, type PortAssignment } from "./addresses";

const sameList = (a: string[], b: string[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Why a Service has no node: the ports other LoadBalancers hold (what a Pending svclb pod shows in k3s). */
function conflictNote(blocked: PortAssignment["blocked"]): string {
  if (!blocked.length) return "";
  const byHolder = new Map<string, string[]>();
  for (const b of blocked) byHolder.set(`port ${b.port} is used by LoadBalancer ${b.holder}`, [...(byHolder.get(`port ${b.port} is used by LoadBalancer ${b.holder}`) ?? []), b.node]);
  return `: ${[...byHolder].map(([what, on]) => `${what} on ${on.sort().join(", ")}`).join("; ")}`;
}
/** Go's %v of a []string, as in k3s's event message. */
const goList = (xs: string[]) => `[${xs.join(" ")}]`;

export async function startServiceLBController(client: KubeClient, opts: { informers?: SharedInformers } = {}): Promise<{ stop(): Promise<void> }> {
  const shared = opts.informers ?? new SharedInformers(client);
  const events = new EventRecorder(client, "service-lb-controller");
  const services = shared.get<Service>(servicesDef);
  const nodes = shared.get<Node>(nodesDef);
  const eps = shared.get<Endpoints>(endpointsDef);
  const svcClient = client.resource<Service>(servicesDef);

  const loop = new ControlLoop({
    name: "service-lb-controller",
    async reconcile(key) {
      const svc = services.get(key);
      if (!svc || svc.spec?.loadBalancerClass) return; // gone, or another implementation's
      const [namespace, name] = key.split("/");
      const current = currentIngress(svc);
      const ref = { ...svc, apiVersion: "v1", kind: "Service" };
      if (!wantsLoadBalancer(svc)) {
        if (!current.length) return;
        await writeIngress(namespace, name, []);
        events.event(ref, "Normal", "DeletedLoadBalancer", "Deleted load balancer");
        return;
      }
      const nodeList = nodes.list();
      const ports = assignPorts(services.list(), nodeList).get(key)!;
      const desired = loadBalancerIPs(svc, nodeList, eps.get(key), ports.nodes);
      // A Service left without nodes is told why even when its (empty) status does not change,
      // e.g. when it was created on a port another LoadBalancer holds; the recorder keeps repeats cheap.
      if (!desired.length) events.event(ref, "Warning", "UnAvailableLoadBalancer", `There are no available nodes for LoadBalancer${conflictNote(ports.blocked)}`);
      if (sameList(current, desired)) return;
      await writeIngress(namespace, name, desired);
      if (desired.length) events.event(ref, "Normal", "UpdatedLoadBalancer", `Updated LoadBalancer with new IPs: ${goList(current)} -> ${goList(desired)}`);
    },
  });

  /** Through the status subresource, replacing the whole ingress list (a merge patch replaces arrays). */
  async function writeIngress(namespace: string, name: string, ips: string[]) {
    const patch = { status: { loadBalancer: { ingress: ips.length ? ingressOf(ips) : null } } };
    try {
      await svcClient.patch(namespace, name, patch, "merge", "status");
    } catch (e) {
      if (!(e instanceof ApiError && e.code === 404)) throw e; // deleted meanwhile: nothing to do
    }
  }

  /** A node change can move every LoadBalancer Service's addresses. */
  const enqueueLoadBalancers = () => {
    for (const svc of services.list()) if (wantsLoadBalancer(svc)) loop.enqueue(objectKeyOf(svc));
  };
  const enqueue = (o: Service | Endpoints) => loop.enqueue(objectKeyOf(o));
  // A LoadBalancer that goes away or changes its ports may free a port another one waits for.
  shared.on(services, {
    add: enqueue,
    update: (o, s) => {
      if (lbRelevantServiceState(o) !== lbRelevantServiceState(s)) enqueueLoadBalancers();
      enqueue(s);
    },
    delete: (s) => wantsLoadBalancer(s) && enqueueLoadBalancers(),
  });
  shared.on(nodes, {
    add: enqueueLoadBalancers,
    delete: enqueueLoadBalancers,
    update: (o, n) => {
      if (lbRelevantNodeState(o) !== lbRelevantNodeState(n)) enqueueLoadBalancers();
    },
  });
  // Only externalTrafficPolicy Local Services depend on where their endpoints are.
  const onEndpoints = (e: Endpoints) => {
    const svc = services.get(objectKeyOf(e));
    if (svc && wantsLoadBalancer(svc) && svc.spec?.externalTrafficPolicy === "Local") enqueue(e);
  };
  shared.on(eps, { add: onEndpoints, update: (_, e) => onEndpoints(e), delete: onEndpoints });

  await Promise.all([services, nodes, eps].map((i) => shared.start(i)));
  loop.start();
  return {
    async stop() {
      await loop.stop();
      if (!opts.informers) shared.stop();
    },
  };
}
