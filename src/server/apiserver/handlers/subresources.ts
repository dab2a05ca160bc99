// Subresources other than status: scale (autoscaling/v1 Scale), pods/binding (pods/eviction is in eviction.ts),
// and pods/log, pods/exec, pods/attach and pods/portforward, which the node's agent serves (src/server/apiserver/proxy).
import type { Server } from "bun";
import { SUBRESOURCE_KINDS } from "../../../api/kinds";
import { ApiError, badRequest, conflict, invalid, methodNotAllowed } from "../../../api/errors";
import type { KubeObject } from "../../../api/meta";
import type { ResourceDef } from "../../../api/resource";
import { parseBody, parseText, patchMediaType, readBody } from "../body";
import { timestamp } from "../objects/codec";
import { targetOf } from "../objects/objects";
import { applyPatch } from "../patch";
import { isDryRun } from "../query";
import type { ApiContext } from "./context";
import { proxyAttach, proxyExec, proxyLogs, proxyPortForward, resolveAgentTarget, type KubeletTokenSigner } from "../proxy/index";
import { json, success } from "./respond";
import { WRITE_RETRY_MS } from "./write";
import { Type } from "@sinclair/typebox";

const ScaleSchema = Type.Object({
  apiVersion: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  metadata: Type.Optional(Type.Object({}, { additionalProperties: true })),
  spec: Type.Optional(Type.Object({ replicas: Type.Optional(Type.Integer()) })),
  status: Type.Optional(Type.Object({}, { additionalProperties: true })),
});

function toScale(def: ResourceDef, obj: KubeObject) {
  const m = obj.metadata;
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: { name: m.name, namespace: m.namespace, uid: m.uid, resourceVersion: m.resourceVersion, creationTimestamp: m.creationTimestamp },
    spec: { replicas: def.scale!.specReplicas(obj) },
    status: { replicas: def.scale!.statusReplicas(obj), selector: def.scale!.selector(obj) },
  };
}

/**
 * GET, PUT or PATCH the autoscaling/v1 Scale of a resource. Without a resourceVersion (a patch,
 * `kubectl scale`) the new replica count applies to whatever is stored: a write that loses a
 * race (a controller writing status right after a create) is redone on the fresh object, as
 * upstream's GuaranteedUpdate does; with one, a stale object is a 409.
 */
export async function scale(ctx: ApiContext, req: Request, url: URL, def: ResourceDef, namespace: string | undefined, name: string) {
  if (req.method === "GET") return json(toScale(def, ctx.objects.get(def, namespace, name)));
  let body: unknown;
  let patch: unknown;
  if (req.method === "PUT") body = await parseBody(req);
  else if (req.method === "PATCH") patch = parseText(await readBody(req), "application/json");
  else throw new ApiError(405, "MethodNotAllowed", `${req.method} is not supported on ${def.plural}/scale`);
  const deadline = Date.now() + WRITE_RETRY_MS;
  for (;;) {
    const current = ctx.objects.get(def, namespace, name);
    const desired = (req.method === "PUT" ? body : applyPatch(patchMediaType(req), toScale(def, current), patch, ScaleSchema)) as Record<string, any> | null;
    const replicas = desired?.spec?.replicas;
    if (!Number.isInteger(replicas) || replicas < 0)
      throw invalid(SUBRESOURCE_KINDS.scale, name, [{ reason: "FieldValueInvalid", field: "spec.replicas", message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0` }]);
    const rv = desired?.metadata?.resourceVersion;
    if (rv && rv !== current.metadata.resourceVersion)
      throw conflict(targetOf(def), name, "the object has been modified; please apply your changes to the latest version and try again");
    const next = structuredClone(current);
    def.scale!.setSpecReplicas(next, replicas);
    try {
      const updated = await ctx.objects.update(def, namespace, name, next, { dryRun: isDryRun(url) });
      return json(toScale(def, updated));
    } catch (e) {
      // A resourceVersion the client sent is checked again against the fresh object above.
      if (!(e instanceof ApiError) || e.reason !== "Conflict" || Date.now() > deadline) throw e;
    }
  }
}

/** pods/binding: the scheduler's one way to place a pod. Only an unbound pod can be bound. */
export async function bind(ctx: ApiContext, req: Request, url: URL, pods: ResourceDef, namespace: string, name: string) {
  const body = (await parseBody(req)) as { target?: { name?: string; kind?: string }; metadata?: { name?: string } };
  const node = body?.target?.name;
  if (typeof node !== "string" || !node)
    throw invalid(SUBRESOURCE_KINDS.binding, name, [{ reason: "FieldValueRequired", field: "target.name", message: "Required value" }]);
  if (body.metadata?.name && body.metadata.name !== name) throw badRequest(`the name of the binding (${body.metadata.name}) does not match the pod (${name})`);
  // As upstream, a write that loses a race (the pod's status changed meanwhile) is redone on the
  // fresh pod, whose checks then decide.
  const deadline = Date.now() + WRITE_RETRY_MS;
  for (;;) {
    const pod = ctx.objects.get(pods, namespace, name);
    const spec = pod.spec as { nodeName?: string };
    if (pod.metadata.deletionTimestamp) throw conflict(targetOf(pods), name, "pod is being deleted, cannot be assigned to a host");
    if (spec.nodeName) throw conflict(targetOf(pods), name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
    const next = structuredClone(pod);
    (next.spec as { nodeName?: string }).nodeName = node;
    const status = (next.status ??= {}) as { conditions?: { type: string; status: string; lastTransitionTime?: string }[] };
    status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== "PodScheduled"), { type: "PodScheduled", status: "True", lastTransitionTime: timestamp() }];
    if (isDryRun(url)) return json(success(), 201);
    try {
      await ctx.objects.replace(pods, next, Number(pod.metadata.resourceVersion));
      return json(success(), 201);
    } catch (e) {
      if (!(e instanceof ApiError) || e.reason !== "Conflict" || Date.now() > deadline) throw e;
    }
  }
}

/** pods/log: streamed from the agent on the pod's node. */
export function podLogs(ctx: ApiContext, sign: KubeletTokenSigner, req: Request, server: Server<unknown> | undefined, url: URL, pods: ResourceDef, namespace: string, name: string): Promise<Response> {
  if (req.method !== "GET") throw methodNotAllowed(`the server does not allow this method on the requested resource (${req.method} ${url.pathname})`);
  const target = resolveAgentTarget(ctx, pods, namespace, name, url.searchParams.get("container"), "logs");
  return proxyLogs(target, sign, req, url, server);
}

/** pods/exec: kubectl's WebSocket tunnelled to the agent on the pod's node (GET or POST, as upstream). */
export function podExec(ctx: ApiContext, sign: KubeletTokenSigner, req: Request, server: Server<unknown> | undefined, url: URL, pods: ResourceDef, namespace: string, name: string): Promise<Response> {
  if (req.method !== "GET" && req.method !== "POST") throw methodNotAllowed(`the server does not allow this method on the requested resource (${req.method} ${url.pathname})`);
  const target = resolveAgentTarget(ctx, pods, namespace, name, url.searchParams.get("container"), "exec");
  return proxyExec(target, sign, req, url, server);
}

/** pods/attach: kubectl's WebSocket tunnelled to the agent, joining the container's main process (GET or POST, as upstream). */
export function podAttach(ctx: ApiContext, sign: KubeletTokenSigner, req: Request, server: Server<unknown> | undefined, url: URL, pods: ResourceDef, namespace: string, name: string): Promise<Response> {
  if (req.method !== "GET" && req.method !== "POST") throw methodNotAllowed(`the server does not allow this method on the requested resource (${req.method} ${url.pathname})`);
  const target = resolveAgentTarget(ctx, pods, namespace, name, url.searchParams.get("container"), "attach");
  return proxyAttach(target, sign, req, url, server);
}

/**
 * pods/portforward: kubectl's WebSocket tunnelled to the agent on the pod's node (GET or POST, as
 * upstream). No container is involved: the forward goes into the pod's network namespace.
 */
export function podPortForward(ctx: ApiContext, sign: KubeletTokenSigner, req: Request, server: Server<unknown> | undefined, url: URL, pods: ResourceDef, namespace: string, name: string): Promise<Response> {
  if (req.method !== "GET" && req.method !== "POST") throw methodNotAllowed(`the server does not allow this method on the requested resource (${req.method} ${url.pathname})`);
  const pod = ctx.objects.get(pods, namespace, name) as { spec?: { containers?: { name: string }[] } };
  const target = resolveAgentTarget(ctx, pods, namespace, name, pod.spec?.containers?.[0]?.name ?? null, "port-forward");
  return proxyPortForward(target, sign, req, url, server);
}
