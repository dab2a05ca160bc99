// The Service proxy (kube-proxy's iptables mode under BRAMBLE- chains): pure rendering, the
// syncer that applies it, the agent-facing start function, and `bramble reset`'s cleanup.
export { renderRules, renderService, restoreText, type ProxyState, type RenderedService, type RenderContext } from "./render";
export { startServiceProxy, type ServiceProxy, type ServiceProxyOptions } from "./proxy";
export { resetServiceProxy, ensureSysctls } from "./iptables";
export { ProxySyncer, type ProxySource, type SyncResult } from "./syncer";
