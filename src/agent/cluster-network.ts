// The cluster-wide networking settings every agent follows. They are server flags (k3s names:
// --cluster-cidr, --service-cidr, --cluster-dns, --cluster-domain, --flannel-backend,
// --disable-kube-proxy, --disable coredns), published by the server so that agents on other
// machines need no flags of their own and can never disagree with the control plane.

export interface ClusterNetwork {
  /** Pod IPs; each node gets a /24 of it as spec.podCIDR. Default 10.42.0.0/16. */
  clusterCidr: string;
  /** Service ClusterIPs. Default 10.43.0.0/16. */
  serviceCidr: string;
  /** The address pods use as their nameserver, answered by bramble's own DNS. Default 10.43.0.10. */
  clusterDns: string;
  /** Default cluster.local. */
  clusterDomain: string;
  /** How pods on different nodes reach each other: host-gw routes (default) or none (pods stay on Docker's default bridge). */
  podNetwork: "host-gw" | "none";
  /** Whether agents program Services into iptables (false with --disable-kube-proxy). */
  serviceProxy: boolean;
  /** Whether agents serve cluster DNS (false with --disable coredns). */
  clusterDnsServer: boolean;
}

export const DEFAULT_CLUSTER_NETWORK: ClusterNetwork = {
  clusterCidr: "10.42.0.0/16",
  serviceCidr: "10.43.0.0/16",
  clusterDns: "10.43.0.10",
  clusterDomain: "cluster.local",
  podNetwork: "host-gw",
  serviceProxy: true,
  clusterDnsServer: true,
};
