// What the ingress status controller writes: the InternalIPs of the Ready nodes (every node runs
// the ingress controller), for the Ingresses whose class is served by bramble's controller.
import type { Node } from "../../../api/resources/core/node";
import type { Ingress } from "../../../api/resources/networking/ingress";
import type { IngressClass } from "../../../api/resources/networking/ingressclass";
import { servedByBramble as classServed } from "../../../api/resources/networking/names";
import { isIPv4 } from "../../../api/ip";

const isReady = (n: Node) => !n.metadata.deletionTimestamp && (n.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false);

/** The nodes' InternalIPs, IPv4 first, each family sorted. */
export function ingressAddresses(nodes: Node[]): string[] {
  const ips = new Set<string>();
  for (const n of nodes) if (isReady(n)) for (const a of n.status?.addresses ?? []) if (a.type === "InternalIP") ips.add(a.address);
  const all = [...ips];
  return [...all.filter(isIPv4).sort(), ...all.filter((ip) => !isIPv4(ip)).sort()];
}

/** Whether bramble's controller serves this Ingress (its class names bramble.io/ingress). */
export function servedByBramble(ing: Ingress, classOf: (name: string) => IngressClass | undefined): boolean {
  return classServed(ing.spec?.ingressClassName, classOf);
}

/** A node change that can move the addresses (heartbeats cannot). */
export const addressState = (n: Node) => JSON.stringify([isReady(n), (n.status?.addresses ?? []).filter((a) => a.type === "InternalIP")]);
