// Node registration, as the kubelet's registerWithAPIServer: create the Node with its status,
// or, when one with this name exists (agent restart, re-run of a sim), adopt it: labels merged
// in (others' labels, taints and cordon kept) and the status replaced with ours.
import { ApiError } from "../../api/errors";
import type { Node } from "../../api/resources/core/node";
import { nodes } from "../../client/refs";
import type { KubeClient } from "../../client/client";
import { nodeConditions, type NodeHealth } from "./conditions";
import { nodeLabels, staticNodeStatus, type NodeConfig } from "./spec";

export interface RegisterOptions {
  health?: NodeHealth;
  now?: () => Date;
}

/**
 * Returns the Node as the API server holds it after registration, so the caller can read what
 * the control plane decided (metadata.uid for the Lease's owner, spec.podCIDR if allocated).
 */
export async function registerNode(client: KubeClient, cfg: NodeConfig, opts: RegisterOptions = {}): Promise<Node> {
  const api = client.resource<Node>(nodes);
  const now = (opts.now ?? (() => new Date()))();
  const status = { ...staticNodeStatus(cfg), conditions: nodeConditions(opts.health ?? {}, undefined, now) };
  const fresh: Node = {
    apiVersion: "v1",
    kind: "Node",
    metadata: { name: cfg.name, labels: nodeLabels(cfg) },
    spec: cfg.taints?.length ? { taints: cfg.taints } : {},
    status,
  };
  try {
    return await api.create(undefined, fresh);
  } catch (e) {
    if (!(e instanceof ApiError) || e.code !== 409) throw e;
  }
  return adoptNode(client, cfg, opts.health ?? {}, now);
}

async function adoptNode(client: KubeClient, cfg: NodeConfig, health: NodeHealth, now: Date): Promise<Node> {
  const api = client.resource<Node>(nodes);
  const existing = await api.get(undefined, cfg.name);
  const labels = nodeLabels(cfg);
  const current = existing.metadata.labels ?? {};
  if (Object.entries(labels).some(([k, v]) => current[k] !== v)) await api.patch(undefined, cfg.name, { metadata: { labels } });
  const conditions = nodeConditions(health, existing.status?.conditions, now);
  // A merge patch replaces lists whole, which is what we want for conditions and addresses.
  return api.patch(undefined, cfg.name, { status: { ...staticNodeStatus(cfg), conditions } }, "merge", "status");
}
