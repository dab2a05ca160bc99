// Which pods are bound to which node, kept from a pod informer's events, so node-level changes
// (a taint, a lost or deleted node) reach exactly that node's pods.
import type { Pod } from "../../../api/resources/core/pod";
import { objectKeyOf, type Informer } from "../../../client/informer";
import type { SharedInformers } from "../informers";

export class PodsByNode {
  private readonly byNode = new Map<string, Set<string>>();
  private readonly nodeOf = new Map<string, string>();

  constructor(
    shared: SharedInformers,
    private readonly pods: Informer<Pod>,
  ) {
    shared.on(pods, { add: (p) => this.put(p), update: (_, p) => this.put(p), delete: (p) => this.drop(objectKeyOf(p)) });
  }

  keys(node: string): string[] {
    return [...(this.byNode.get(node) ?? [])];
  }

  podsOn(node: string): Pod[] {
    return this.keys(node).flatMap((k) => this.pods.get(k) ?? []);
  }

  nodes(): string[] {
    return [...this.byNode.keys()];
  }

  private put(p: Pod) {
    const key = objectKeyOf(p);
    const node = p.spec?.nodeName;
    if (this.nodeOf.get(key) === node) return;
    this.drop(key);
    if (!node) return;
    this.nodeOf.set(key, node);
    let s = this.byNode.get(node);
    if (!s) this.byNode.set(node, (s = new Set()));
    s.add(key);
  }

  private drop(key: string) {
    const node = this.nodeOf.get(key);
    if (node === undefined) return;
    this.nodeOf.delete(key);
    const s = this.byNode.get(node);
    s?.delete(key);
    if (s?.size === 0) this.byNode.delete(node);
  }
}
