export { CONTROL_PLANE_LABEL, JoinRefused, startAgent, type AgentConfig, type AgentConnection, type RunningAgent } from "./agent";
