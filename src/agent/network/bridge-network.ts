// The Docker bridge network pods join: subnet = this node's podCIDR, so Docker's IPAM hands out
// pod IPs from it. Kept across agent restarts (running pods keep their addresses); replaced
// only when the node's podCIDR changed (the node was deleted and registered again).
import type { Logger } from "../../machinery/log";
import { nthAddress, parseCidr } from "../../machinery/cidr";
import { LABELS, type ContainerRuntime, type NetworkInfo } from "../runtime/runtime";

export const MASQUERADE_OPTION = "com.docker.network.bridge.enable_ip_masquerade";
export const BRIDGE_NAME_OPTION = "com.docker.network.bridge.name";

export interface BridgeNetworkSpec {
  name: string;
  bridge: string;
  podCidr: string;
  /** The cluster it belongs to (its io.bramble.cluster label). */
  clusterId?: string;
}

/** The pod gateway: the first address of the podCIDR, as flannel and Docker use. */
export const gatewayOf = (podCidr: string) => nthAddress(parseCidr(podCidr), 1);

/** Why an existing network cannot be kept as it is; undefined when it can. */
export function mismatch(info: NetworkInfo, want: BridgeNetworkSpec): string | undefined {
  if (info.subnet !== want.podCidr) return `its subnet ${info.subnet ?? "(none)"} is not the node's podCIDR ${want.podCidr}`;
  if (info.gateway && info.gateway !== gatewayOf(want.podCidr)) return `its gateway ${info.gateway} is not ${gatewayOf(want.podCidr)}`;
  if (info.options[MASQUERADE_OPTION] !== "false") return "Docker's masquerade is on for it";
  if ((info.options[BRIDGE_NAME_OPTION] ?? "") !== want.bridge) return `its bridge is ${info.options[BRIDGE_NAME_OPTION] ?? "(Docker's choice)"}, not ${want.bridge}`;
  return undefined;
}

/** Makes sure the pod network exists as specified; returns its gateway. */
export async function ensureBridgeNetwork(runtime: ContainerRuntime, want: BridgeNetworkSpec, log: Logger): Promise<string> {
  const gateway = gatewayOf(want.podCidr);
  const existing = await runtime.inspectNetwork(want.name);
  const owner = existing?.labels[LABELS.cluster];
  if (owner && want.clusterId && owner !== want.clusterId) {
    // Another cluster's node runs on this machine: the network's name, its bridge, the routes and
    // iptables chains are per machine, so taking it over would cut that cluster's pods off.
    throw new Error(
      `the Docker network ${want.name} belongs to another bramble cluster on this machine (${owner}); two clusters cannot both run a pod network here — run this one with --flannel-backend=none, or stop the other (bramble reset --data-dir <its data dir>)`,
    );
  }
  if (existing) {
    const why = mismatch(existing, want);
    if (!why) {
      log.debug("reusing the pod network", { network: want.name, subnet: want.podCidr, containers: existing.containers.length });
      return gateway;
    }
    // Containers still on it are pods of the node's former identity: the kubelet removes them,
    // and they could not keep addresses outside the new podCIDR anyway.
    log.warn("replacing the pod network", { network: want.name, reason: why, detachedContainers: existing.containers.length });
    await runtime.removeNetwork(want.name, { force: true });
  }
  await runtime.createNetwork({
    name: want.name,
    subnet: want.podCidr,
    gateway,
    bridge: want.bridge,
    labels: { [LABELS.managed]: "true", ...(want.clusterId ? { [LABELS.cluster]: want.clusterId } : {}) },
    options: { [MASQUERADE_OPTION]: "false" },
  });
  log.info("created the pod network", { network: want.name, bridge: want.bridge, subnet: want.podCidr, gateway });
  return gateway;
}
