// What a node says about itself when it registers: labels, capacity, addresses, nodeInfo. Pure
// functions of a NodeConfig, shared by the real agent (facts from the host and Docker) and
// `bramble sim` (facts from flags), so both register nodes that look the same to the scheduler
// and to `kubectl get nodes -o wide`.
import type { Node, Taint } from "../../api/resources/core/node";
import { canonicalQuantity } from "../../api/quantity";

/** The kubelet version bramble's agents report (VERSION column of `kubectl get nodes`). */
export const KUBELET_VERSION = "v1.32.0-bramble";

export interface NodeSystemFacts {
  osImage: string;
  kernelVersion: string;
  /** e.g. "docker://27.3.1", "sim://v0.1.0". */
  containerRuntimeVersion: string;
  /** GOARCH spelling: amd64, arm64, arm. Also the kubernetes.io/arch label. */
  architecture: string;
  /** GOOS spelling: linux. Also the kubernetes.io/os label. */
  operatingSystem: string;
  machineID?: string;
  systemUUID?: string;
  bootID?: string;
}

export interface NodeConfig {
  name: string;
  /** Extra labels (e.g. --node-label, node-role.kubernetes.io/control-plane); win over defaults. */
  labels?: Record<string, string>;
  /** Taints to register with (kubelet's --register-with-taints); only applied on create. */
  taints?: Taint[];
  /** Quantities as text: cpu "4", memory "8Gi", pods "110", maybe ephemeral-storage. */
  capacity: Record<string, string>;
  /** Defaults to capacity (nothing reserved for system daemons). */
  allocatable?: Record<string, string>;
  internalIP: string;
  /** The Hostname address; defaults to the node name. */
  hostname?: string;
  nodeInfo: NodeSystemFacts;
  /** Where the agent serves logs/exec; 0 for nodes that serve nothing (simulated ones). */
  kubeletPort?: number;
}

/** Node.js's process.arch → Go's GOARCH, which is what Kubernetes labels and nodeInfo use. */
export function goArch(nodeArch: string = process.arch): string {
  return ({ x64: "amd64", arm64: "arm64", arm: "arm", ia32: "386", ppc64: "ppc64le", s390x: "s390x", riscv64: "riscv64" } as Record<string, string>)[nodeArch] ?? nodeArch;
}

/** The labels upstream's kubelet sets (including the deprecated beta ones it still sets). */
export function defaultNodeLabels(cfg: NodeConfig): Record<string, string> {
  return {
    "beta.kubernetes.io/arch": cfg.nodeInfo.architecture,
    "beta.kubernetes.io/os": cfg.nodeInfo.operatingSystem,
    "kubernetes.io/arch": cfg.nodeInfo.architecture,
    "kubernetes.io/hostname": cfg.hostname ?? cfg.name,
    "kubernetes.io/os": cfg.nodeInfo.operatingSystem,
  };
}

export function nodeLabels(cfg: NodeConfig): Record<string, string> {
  return { ...defaultNodeLabels(cfg), ...cfg.labels };
}

const canonical = (list: Record<string, string>) => Object.fromEntries(Object.entries(list).map(([k, v]) => [k, canonicalQuantity(v)]));

/** Everything in status except conditions, which carry time and come from conditions.ts. */
export function staticNodeStatus(cfg: NodeConfig): Omit<NonNullable<Node["status"]>, "conditions"> {
  const capacity = canonical(cfg.capacity);
  return {
    capacity,
    allocatable: cfg.allocatable ? canonical(cfg.allocatable) : { ...capacity },
    addresses: [
      { type: "InternalIP", address: cfg.internalIP },
      { type: "Hostname", address: cfg.hostname ?? cfg.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: cfg.kubeletPort ?? 0 } },
    nodeInfo: {
      machineID: cfg.nodeInfo.machineID ?? "",
      systemUUID: cfg.nodeInfo.systemUUID ?? "",
      bootID: cfg.nodeInfo.bootID ?? "",
      kernelVersion: cfg.nodeInfo.kernelVersion,
      osImage: cfg.nodeInfo.osImage,
      containerRuntimeVersion: cfg.nodeInfo.containerRuntimeVersion,
      kubeletVersion: KUBELET_VERSION,
      kubeProxyVersion: "",
      operatingSystem: cfg.nodeInfo.operatingSystem,
      architecture: cfg.nodeInfo.architecture,
    },
  };
}
