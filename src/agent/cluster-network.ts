// The agent's view of the cluster's networking settings (defined in api/: the server publishes them).
export * from "../api/cluster-network";
