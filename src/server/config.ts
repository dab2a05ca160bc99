// Everything `bramble server` needs, already parsed and checked by src/cli/server.ts.

export interface ServerConfig {
  /** Root of all state: <dataDir>/server/{state.db, tls/, token, admin.kubeconfig}. */
  dataDir: string;
  bindAddress: string; // "0.0.0.0" by default
  httpsListenPort: number; // 6443
  /** The address written into kubeconfigs and the serving certificate; defaults to the first non-loopback IPv4. */
  advertiseAddress: string;
  /** libSQL URL ("file:/var/lib/bramble/server/state.db") or "memory:" for tests. */
  datastoreEndpoint: string;
  clusterCidr: string; // 10.42.0.0/16
  serviceCidr: string; // 10.43.0.0/16
  serviceNodePortRange: [number, number]; // [30000, 32767]
  /** Pods' nameserver, answered by every agent's DNS; the kube-system/kube-dns Service's ClusterIP, never another Service's. 10.43.0.10 */
  clusterDns: string;
  clusterDomain: string; // cluster.local
  /** --flannel-backend: host-gw routes between nodes' pod ranges, or none (Docker's default bridge). */
  podNetwork: "host-gw" | "none";
  /** false with --disable-kube-proxy: agents program no Services into iptables. */
  serviceProxy: boolean;
  /** false with --disable-network-policy: agents enforce no NetworkPolicies. Absent means on. */
  networkPolicy?: boolean;
  /** false with --disable coredns: agents serve no cluster DNS. */
  clusterDnsServer: boolean;
  /** false with --disable servicelb: LoadBalancer Services stay <pending>. */
  serviceLB: boolean;
  /** false with --disable local-storage: no built-in local-path StorageClass or provisioner. */
  localStorage?: boolean;
  /** --default-local-storage-path: where local-path volumes go on the nodes; default <dataDir>/storage. */
  localStoragePath?: string;
  /** false with --disable ingress: no default IngressClass, no ingress controller on the nodes. Absent means on. */
  ingress?: boolean;
  /** false with --disable dashboard: nothing is served at /dashboard/. Absent means on. */
  dashboard?: boolean;
  /** Extra path to write the admin kubeconfig to (besides <dataDir>/server/admin.kubeconfig). */
  writeKubeconfig?: string;
  disableAgent: boolean;
  /** Shared secret for joining nodes; generated and stored on first start when not given. */
  token?: string;
  /** binpack: the fullest node that fits wins; spread: the emptiest. */
  schedulerPolicy: "binpack" | "spread";
  /** A node whose heartbeat is older than this is marked Unknown and tainted unreachable. */
  nodeMonitorGracePeriodSeconds: number;
  /**
   * --secrets-encryption: Secrets are stored AES-GCM encrypted, with keys in
   * <dataDir>/server/cred/encryption-config.json. Once that file exists encryption stays on, flag or not.
   */
  secretsEncryption?: boolean;
  /** Pods without their own toleration leave an unreachable node after this long. */
  notReadyTolerationSeconds: number;
  /**
   * Scheduled snapshots of the embedded datastore into <dataDir>/server/snapshots/ (default:
   * every 12 hours, keep 5); off with --disable-snapshots, and for other datastores.
   */
  snapshots?: { cron: string; retention: number; node: string; command?: string[] } | false;
  /** --horizontal-pod-autoscaler-* durations (ms); upstream's defaults when unset. */
  hpa?: { syncPeriodMs?: number; downscaleStabilizationMs?: number; cpuInitializationPeriodMs?: number };
}
