// The cluster-wide networking settings every agent follows. They are server flags (k3s names:
// --cluster-cidr, --service-cidr, --cluster-dns, --cluster-domain, --flannel-backend,
// --disable-kube-proxy, --disable-network-policy, --disable coredns), published by the server so that agents on other
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
  /** Whether agents run the built-in ingress controller (false with --disable ingress); on when absent. */
  ingress?: boolean;
  /** Whether agents enforce NetworkPolicies (false with --disable-network-policy); on when absent. */
  networkPolicy?: boolean;
}

export const DEFAULT_CLUSTER_NETWORK: ClusterNetwork = {
  clusterCidr: "10.42.0.0/16",
  serviceCidr: "10.43.0.0/16",
  clusterDns: "10.43.0.10",
  clusterDomain: "cluster.local",
  podNetwork: "host-gw",
  serviceProxy: true,
  clusterDnsServer: true,
  ingress: true,
  networkPolicy: true,
};

/**
 * The `kubernetes` Service in default: pods reach the API server through it, at the first
 * address of the service range and this port, as upstream's.
 */
export const KUBERNETES_SERVICE = { namespace: "default", name: "kubernetes", port: 443 } as const;

/** Where the server publishes them: a ConfigMap every node may read. */
export const CLUSTER_NETWORK_CONFIGMAP = { namespace: "kube-system", name: "bramble-cluster-network" } as const;

/** ConfigMap data, keyed like the server flags so `kubectl get cm -o yaml` reads naturally. */
export function clusterNetworkToData(n: ClusterNetwork): Record<string, string> {
  const disabled = [...(n.clusterDnsServer ? [] : ["coredns"]), ...(n.ingress === false ? ["ingress"] : [])];
  return {
    "cluster-cidr": n.clusterCidr,
    "service-cidr": n.serviceCidr,
    "cluster-dns": n.clusterDns,
    "cluster-domain": n.clusterDomain,
    "flannel-backend": n.podNetwork,
    "disable-kube-proxy": String(!n.serviceProxy),
    "disable-network-policy": String(n.networkPolicy === false),
    disable: disabled.join(","),
  };
}

/** Missing keys (an older server) fall back to the defaults. */
export function clusterNetworkFromData(data: Record<string, string> | undefined): ClusterNetwork {
  const d = data ?? {};
  const backend = d["flannel-backend"];
  return {
    clusterCidr: d["cluster-cidr"] || DEFAULT_CLUSTER_NETWORK.clusterCidr,
    serviceCidr: d["service-cidr"] || DEFAULT_CLUSTER_NETWORK.serviceCidr,
    clusterDns: d["cluster-dns"] || DEFAULT_CLUSTER_NETWORK.clusterDns,
    clusterDomain: d["cluster-domain"] || DEFAULT_CLUSTER_NETWORK.clusterDomain,
    podNetwork: backend === "none" ? "none" : "host-gw",
    serviceProxy: d["disable-kube-proxy"] !== "true",
    clusterDnsServer: !(d.disable ?? "").split(",").includes("coredns"),
    ingress: !(d.disable ?? "").split(",").includes("ingress"),
    networkPolicy: d["disable-network-policy"] !== "true",
  };
}
