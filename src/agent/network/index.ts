// The pod network: what the agent starts and what `bramble reset` undoes.
export { startPodNetwork, type PodNetwork, type PodNetworkOptions } from "./pod-network";
export { resetPodNetwork } from "./reset";
export type { CommandRunner } from "../host/run";
export { POD_BRIDGE, POD_DOCKER_NETWORK } from "./names";
