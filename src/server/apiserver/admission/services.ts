// Service allocation: a ClusterIP from --service-cidr and NodePorts from the node-port range,
// reserved in memory before the write and released after a failed write or a delete. The first
// address belongs to the `kubernetes` Service, as upstream; the cluster DNS address
// (--cluster-dns, answered by bramble's own DNS on every node) is reserved for good: only the
// kube-system/kube-dns Service may ask for it (the server's own, or a user's CoreDNS when the
// built-in DNS is off), and it is never handed out or released. Error messages are upstream's,
// word for word: tools parse "The range of valid IPs is ..." to learn the service CIDR.
import { KINDS, sameResource } from "../../../api/kinds";
import { invalid, type StatusCause } from "../../../api/errors";
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import { addressIndex, formatCidr, nthAddress, parseCidr, type Cidr } from "../../../machinery/cidr";
import type { AdmissionOutcome, AdmissionPlugin } from "./admission";
import { RangeAllocator } from "./allocator";

interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  nodePort?: number;
}

interface ServiceSpec {
  type?: string;
  clusterIP?: string;
  clusterIPs?: string[];
  ports?: ServicePort[];
  externalTrafficPolicy?: string;
  healthCheckNodePort?: number;
  allocateLoadBalancerNodePorts?: boolean;
}

const usesNodePorts = (spec: ServiceSpec) => spec.type === "NodePort" || spec.type === "LoadBalancer";
/** upstream's needsHCNodePort: a LoadBalancer with Local policy gets a health-check port from the NodePort range. */
const needsHealthCheck = (spec: ServiceSpec) => spec.type === "LoadBalancer" && spec.externalTrafficPolicy === "Local";
const isService = (def: ResourceDef) => sameResource(def, KINDS.services);

export class ServiceAllocator implements AdmissionPlugin {
  private readonly cidr: Cidr;
  private readonly ips: RangeAllocator;
  private readonly ports: RangeAllocator;

  /** Offsets that are never handed out nor released (the cluster DNS address). */
  private readonly pinned = new Set<number>();

  constructor(serviceCidr: string, nodePortRange: [number, number], opts: { reservedIps?: string[] } = {}) {
    this.cidr = parseCidr(serviceCidr);
    // Offsets inside the block; the network and broadcast addresses are never handed out.
    // Offset 1 is handed out only on request: it belongs to the `kubernetes` Service.
    this.ips = new RangeAllocator(1, this.cidr.size - 2, 2);
    this.ports = new RangeAllocator(nodePortRange[0], nodePortRange[1]);
    for (const ip of opts.reservedIps ?? []) {
      const idx = addressIndex(this.cidr, ip);
      if (idx === undefined || !this.ips.contains(idx)) continue; // outside the range: nothing to protect
      this.ips.reserve(idx);
      this.pinned.add(idx);
    }
  }

  private isPinned(ip: string) {
    const idx = addressIndex(this.cidr, ip);
    return idx !== undefined && this.pinned.has(idx);
  }

  private releaseIp(ip: string) {
    const idx = addressIndex(this.cidr, ip);
    if (idx !== undefined && !this.pinned.has(idx)) this.ips.release(idx);
  }

  /** Re-reserves what stored Services hold; run once at start-up. */
  restore(services: KubeObject[]) {
    for (const svc of services) {
      const spec = (svc.spec ?? {}) as ServiceSpec;
      const idx = spec.clusterIP ? addressIndex(this.cidr, spec.clusterIP) : undefined;
      if (idx !== undefined) this.ips.reserve(idx);
      for (const p of spec.ports ?? []) if (p.nodePort) this.ports.reserve(p.nodePort);
      if (spec.healthCheckNodePort) this.ports.reserve(spec.healthCheckNodePort);
    }
  }

  admit(op: "create" | "update", def: ResourceDef, obj: KubeObject, old?: KubeObject): AdmissionOutcome | void {
    if (!isService(def)) return;
    const spec = (obj.spec ??= {}) as ServiceSpec;
    const oldSpec = (old?.spec ?? {}) as ServiceSpec;
    const reserved: (() => void)[] = [];
    const releaseOnCommit: (() => void)[] = [];
    const fail = (causes: StatusCause[]) => {
      reserved.forEach((undo) => undo());
      return invalid(KINDS.services, obj.metadata.name ?? "", causes);
    };

    if (op === "update" && oldSpec.clusterIP) {
      spec.clusterIP ||= oldSpec.clusterIP;
      if (spec.clusterIP !== oldSpec.clusterIP)
        throw fail([{ reason: "FieldValueInvalid", field: "spec.clusterIP", message: `Invalid value: "${spec.clusterIP}": field is immutable` }]);
    } else if (spec.type === "ExternalName") {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    } else if (spec.clusterIP !== "None") {
      const pinnedFor = obj.metadata.namespace === "kube-system" && obj.metadata.name === "kube-dns" ? spec.clusterIP : undefined;
      const ip = pinnedFor && this.isPinned(pinnedFor) ? pinnedFor : this.reserveIp(spec.clusterIP, (c) => fail([c]));
      reserved.push(() => this.releaseIp(ip));
      spec.clusterIP = ip;
    }
    if (spec.clusterIP) spec.clusterIPs = [spec.clusterIP];

    const oldPorts = new Map((oldSpec.ports ?? []).filter((p) => p.nodePort).map((p) => [`${p.port}/${p.protocol ?? "TCP"}`, p.nodePort!]));
    const kept = new Set<number>();
    for (const [i, p] of (spec.ports ?? []).entries()) {
      if (!usesNodePorts(spec)) {
        delete p.nodePort;
        continue;
      }
      const previous = oldPorts.get(`${p.port}/${p.protocol ?? "TCP"}`);
      if (p.nodePort === undefined && previous !== undefined) p.nodePort = previous;
      // A LoadBalancer may do without NodePorts (allocateLoadBalancerNodePorts: false) unless asked for one.
      if (p.nodePort === undefined && spec.type === "LoadBalancer" && spec.allocateLoadBalancerNodePorts === false) continue;
      if (p.nodePort !== undefined && p.nodePort === previous) {
        kept.add(p.nodePort);
        continue;
      }
      const field = `spec.ports[${i}].nodePort`;
      if (p.nodePort !== undefined) {
        if (!this.ports.contains(p.nodePort))
          throw fail([{ reason: "FieldValueInvalid", field, message: `Invalid value: ${p.nodePort}: provided port is not in the valid range. The range of valid ports is ${this.ports.first}-${this.ports.last}` }]);
        if (!this.ports.reserve(p.nodePort))
          throw fail([{ reason: "FieldValueInvalid", field, message: `Invalid value: ${p.nodePort}: provided port is already allocated` }]);
      } else {
        const n = this.ports.allocate();
        if (n === undefined) throw fail([{ reason: "FieldValueInvalid", field, message: "failed to allocate a nodePort: range is full" }]);
        p.nodePort = n;
      }
      const n = p.nodePort;
      reserved.push(() => this.ports.release(n));
    }
    for (const n of oldPorts.values()) if (!kept.has(n)) releaseOnCommit.push(() => this.ports.release(n));

    const oldHealthCheck = needsHealthCheck(oldSpec) ? oldSpec.healthCheckNodePort : undefined;
    if (needsHealthCheck(spec)) {
      spec.healthCheckNodePort ||= oldHealthCheck;
      const requested = spec.healthCheckNodePort;
      if (!requested) {
        const n = this.ports.allocate();
        if (n === undefined) throw fail([{ reason: "FieldValueInvalid", field: "spec.healthCheckNodePort", message: "failed to allocate a nodePort: range is full" }]);
        spec.healthCheckNodePort = n;
        reserved.push(() => this.ports.release(n));
      } else if (requested !== oldHealthCheck) {
        // upstream: "failed to allocate requested HealthCheck NodePort <n>: <allocator error>".
        const why = !this.ports.contains(requested)
          ? `provided port is not in the valid range. The range of valid ports is ${this.ports.first}-${this.ports.last}`
          : !this.ports.reserve(requested)
            ? "provided port is already allocated"
            : undefined;
        if (why) throw fail([{ reason: "FieldValueInvalid", field: "spec.healthCheckNodePort", message: `Invalid value: ${requested}: failed to allocate requested HealthCheck NodePort ${requested}: ${why}` }]);
        reserved.push(() => this.ports.release(requested));
      }
    }
    if (oldHealthCheck && oldHealthCheck !== (needsHealthCheck(spec) ? spec.healthCheckNodePort : undefined)) {
      const n = oldHealthCheck;
      releaseOnCommit.push(() => this.ports.release(n));
    }

    return {
      rollback: () => reserved.forEach((undo) => undo()),
      commit: () => releaseOnCommit.forEach((release) => release()),
    };
  }

  deleted(def: ResourceDef, obj: KubeObject) {
    if (!isService(def)) return;
    const spec = (obj.spec ?? {}) as ServiceSpec;
    if (spec.clusterIP && spec.clusterIP !== "None") this.releaseIp(spec.clusterIP);
    for (const p of spec.ports ?? []) if (p.nodePort) this.ports.release(p.nodePort);
    if (spec.healthCheckNodePort) this.ports.release(spec.healthCheckNodePort);
  }

  private reserveIp(requested: string | undefined, fail: (c: StatusCause) => Error): string {
    if (requested) {
      // upstream: field.Invalid(spec.clusterIPs, service.Spec.ClusterIPs, "failed to allocate IP <ip>: <allocator error>"),
      // the value printed as Go's %#v of a []string.
      const failed = (why: string) =>
        fail({ reason: "FieldValueInvalid", field: "spec.clusterIPs", message: `Invalid value: []string{"${requested}"}: failed to allocate IP ${requested}: ${why}` });
      const idx = addressIndex(this.cidr, requested);
      if (idx === undefined || !this.ips.contains(idx)) throw failed(`the provided IP (${requested}) is not in the valid range. The range of valid IPs is ${formatCidr(this.cidr)}`);
      if (!this.ips.reserve(idx)) throw failed("provided IP is already allocated");
      return requested;
    }
    const idx = this.ips.allocate();
    // upstream answers a full range with an internal error: "failed to allocate a serviceIP: range is full".
    if (idx === undefined) throw fail({ reason: "FieldValueInvalid", field: "spec.clusterIPs", message: "failed to allocate a serviceIP: range is full" });
    return nthAddress(this.cidr, idx);
  }
}
