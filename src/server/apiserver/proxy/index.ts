// pods/log, pods/exec and pods/attach, proxied to the agent on the pod's node.
export { proxyAttach } from "./attach";
export { proxyExec } from "./exec";
export { proxyLogs } from "./logs";
export { proxyPortForward } from "./portforward";
export { caKeySigner, signerWithKey, type KubeletTokenSigner } from "./signer";
export { agentEndpoint, resolveAgentTarget, chooseContainer, unavailable, type AgentTarget } from "./target";
export { Tunnel } from "./tunnel";
export { socketHandler, type SocketSession } from "./websocket";
