// What `bramble sim` runs with. Kept apart from sim.ts so the CLI can read the defaults without
// loading the simulator.

export interface SimConfig {
  kubeconfig: string;
  nodes: number;
  prefix: string;
  /** Capacity per node, as quantities. */
  cpu: string;
  memory: string;
  pods: number;
  labels: Record<string, string>;
  heartbeatIntervalMs: number;
  statusReportIntervalMs: number;
  /** Where per-node pod CIDRs come from while the control plane does not allocate them. */
  clusterCidr: string;
  /** Pod status writes in flight at once. */
  workers: number;
}

export const SIM_DEFAULTS = {
  nodes: 1,
  prefix: "sim",
  cpu: "4",
  memory: "8Gi",
  pods: 110,
  heartbeatIntervalMs: 10_000,
  /** Upstream's nodeStatusReportFrequency; each report is a database write on the server. */
  statusReportIntervalMs: 300_000,
  clusterCidr: "10.42.0.0/16",
  workers: 32,
};

/** Node leases last 40 s; a heartbeat must come well within that. */
export const LEASE_DURATION_MS = 40_000;
