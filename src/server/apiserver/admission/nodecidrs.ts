// Node IPAM in admission: every Node gets a /24 of --cluster-cidr as spec.podCIDR when it is
// created (the agent builds its pod bridge from it) and the block is released when the Node is
// deleted. A full range leaves new nodes without a podCIDR rather than refusing to register them,
// and says so with upstream's node IPAM event (reason CIDRNotAvailable); such a node gets a block
// on a later write to it (its agent's next status report) once one is free, as upstream's range
// allocator retries on node updates.
import { KINDS, sameResource } from "../../../api/kinds";
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import { addressIndex, formatCidr, nthAddress, parseCidr, type Cidr } from "../../../machinery/cidr";
import { log } from "../../../machinery/log";
import type { AdmissionOutcome, AdmissionPlugin } from "./admission";
import { RangeAllocator } from "./allocator";

const NODE_PREFIX = 24;

interface NodeSpec {
  podCIDR?: string;
  podCIDRs?: string[];
}

const isNode = (def: ResourceDef) => sameResource(def, KINDS.nodes);

/** Told about a node that was stored without a podCIDR because the range is full. */
export type CidrUnavailableHandler = (node: KubeObject, message: string) => void;

export class NodeCidrAllocator implements AdmissionPlugin {
  /** Set once the API server can write Events (it needs the object layer this plugin is part of). */
  onUnavailable?: CidrUnavailableHandler;

  private readonly cluster: Cidr;
  private readonly blocks: RangeAllocator;
  private readonly blockSize: number;

  constructor(clusterCidr: string) {
    this.cluster = parseCidr(clusterCidr);
    // A cluster range smaller than a /24 is one block.
    this.blockSize = 2 ** (32 - Math.max(NODE_PREFIX, this.cluster.prefix));
    this.blocks = new RangeAllocator(0, this.cluster.size / this.blockSize - 1);
  }

  private blockOf(cidr: string | undefined): number | undefined {
    if (!cidr) return undefined;
    const [ip] = cidr.split("/");
    const idx = addressIndex(this.cluster, ip!);
    return idx === undefined || idx % this.blockSize !== 0 ? undefined : idx / this.blockSize;
  }

  private cidrOf(block: number): string {
    return `${nthAddress(this.cluster, block * this.blockSize)}/${Math.max(NODE_PREFIX, this.cluster.prefix)}`;
  }

  restore(nodes: KubeObject[]) {
    for (const n of nodes) {
      const b = this.blockOf((n.spec as NodeSpec | undefined)?.podCIDR);
      if (b !== undefined) this.blocks.reserve(b);
    }
  }

  admit(op: "create" | "update", def: ResourceDef, obj: KubeObject, old?: KubeObject): AdmissionOutcome | void {
    if (!isNode(def)) return;
    const spec = (obj.spec ??= {}) as NodeSpec;
    // A node keeps its block for life (validation refuses changes): updates allocate only for a
    // node that has none yet (registered while the range was full).
    const retry = op === "update";
    if (retry && (old?.spec as NodeSpec | undefined)?.podCIDR) return;
    let block = this.blockOf(spec.podCIDR);
    if (spec.podCIDR && (block === undefined || !this.blocks.reserve(block))) {
      // A block outside the range or already used elsewhere is replaced by a fresh one.
      block = undefined;
    }
    if (block === undefined) {
      block = this.blocks.allocate();
      if (block === undefined) {
        delete spec.podCIDR;
        delete spec.podCIDRs;
        if (retry) return; // said once, at registration; the range is still full
        log.warn("no free pod CIDR for node", { node: obj.metadata.name, clusterCidr: formatCidr(this.cluster) });
        const message = `Node ${obj.metadata.name} status is now: CIDRNotAvailable`;
        return { commit: () => this.onUnavailable?.(obj, message) };
      }
    }
    spec.podCIDR = this.cidrOf(block);
    spec.podCIDRs = [spec.podCIDR];
    const taken = block;
    return { rollback: () => this.blocks.release(taken) };
  }

  deleted(def: ResourceDef, obj: KubeObject) {
    if (!isNode(def)) return;
    const b = this.blockOf((obj.spec as NodeSpec | undefined)?.podCIDR);
    if (b !== undefined) this.blocks.release(b);
  }
}
