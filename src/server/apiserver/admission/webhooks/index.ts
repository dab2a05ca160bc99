// Upstream's MutatingAdmissionWebhook and ValidatingAdmissionWebhook plugins in one step: the
// mutating webhooks that match a write are called one after another, each JSONPatch applied in
// order (a webhook with reinvocationPolicy IfNeeded is called once more when a later one changed
// the object), then the validating webhooks all at once. A webhook that cannot be reached fails
// the write (failurePolicy Fail) or is skipped (Ignore). Webhook configurations themselves are
// never sent to webhooks, so a broken webhook cannot lock itself in. matchConditions are stored
// but not evaluated (bramble has no CEL): a webhook with conditions is called as if they held.
//
// The HTTP client is loaded on the first write that matches a webhook, so a cluster without
// webhook configurations pays nothing for it.
import { invalid, badRequest, fieldCauses } from "../../../../api/errors";
import type { KubeObject } from "../../../../api/meta";
import type { ResourceDef } from "../../../../api/resource";
import type { Webhook, WebhookConfiguration } from "../../../../api/resources/admissionregistration/webhooks";
import { validateObjectMeta } from "../../../../api/validation";
import { log as rootLog } from "../../../../machinery/log";
import { requestUser } from "../../request-user";
import { addWarning } from "../../request-warnings";
import type { AdmissionContext, AdmissionPlugin } from "../admission";
import type { Endpoint } from "./call";
import { namespaceSelectorMatches, objectSelectorMatches, rulesMatch, type Operation, type RequestAttributes } from "./match";

const log = rootLog.child("webhooks");

/** What the plugin reads from the cluster, from the object layer's cache. */
export interface WebhookSources {
  mutating(): WebhookConfiguration[];
  validating(): WebhookConfiguration[];
  namespaceLabels(name: string): Record<string, string> | undefined;
  /** A Service's ports, for clientConfig.service. */
  service(namespace: string, name: string): { spec?: { ports?: { name?: string; port: number; targetPort?: number | string }[] } } | undefined;
  /** The EndpointSlices of a Service. */
  endpointSlices(namespace: string, service: string): { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[]; ports?: { name?: string; port?: number }[] }[];
}

const ADMISSION_GROUP = "admissionregistration.k8s.io";
const SERVER_USER = { username: "system:apiserver", groups: ["system:masters"] };

export class WebhookAdmission implements AdmissionPlugin {
  private client?: Promise<typeof import("./call")>;

  constructor(private readonly sources: WebhookSources) {}

  private attributes(operation: Operation, def: ResourceDef, ctx: AdmissionContext): RequestAttributes {
    return {
      operation,
      group: def.group,
      version: def.version,
      resource: def.plural,
      subresource: ctx.subresource ?? "",
      namespaced: def.namespaced,
      otherVersions: (def.versions ?? []).map((v) => v.version),
    };
  }

  /** The webhooks of these configurations (by configuration name, then in order) a request matches. */
  private matching(configs: WebhookConfiguration[], attrs: RequestAttributes, obj: KubeObject, old: KubeObject | undefined): Webhook[] {
    return configs
      .sort((a, b) => (a.metadata.name! < b.metadata.name! ? -1 : 1))
      .flatMap((c) => c.webhooks ?? [])
      .filter((w) => rulesMatch(w, attrs) && namespaceSelectorMatches(w, attrs, obj, (ns) => this.sources.namespaceLabels(ns)) && objectSelectorMatches(w, obj, old));
  }

  private input(attrs: RequestAttributes, def: ResourceDef, ctx: AdmissionContext, object: KubeObject | undefined, oldObject: KubeObject | undefined) {
    const user = requestUser();
    const meta = (object ?? oldObject)!.metadata;
    return {
      attrs,
      kind: def.kind,
      name: meta.name ?? "",
      namespace: def.namespaced ? (meta.namespace ?? "") : "",
      object,
      oldObject,
      dryRun: !!ctx.dryRun,
      user: user ? { username: user.user, groups: user.groups } : SERVER_USER,
    };
  }

  /** A delete: sent with the stored object as oldObject; a mutating webhook's patch has nothing to change. */
  async admitDelete(def: ResourceDef, old: KubeObject, ctx: AdmissionContext): Promise<void> {
    if (def.group === ADMISSION_GROUP) return;
    const mutatingConfigs = this.sources.mutating();
    const validatingConfigs = this.sources.validating();
    if (!mutatingConfigs.length && !validatingConfigs.length) return;
    const attrs = this.attributes("DELETE", def, ctx);
    const webhooks = [...this.matching(mutatingConfigs, attrs, old, undefined), ...this.matching(validatingConfigs, attrs, old, undefined)];
    if (!webhooks.length) return;
    const client = await (this.client ??= import("./call"));
    for (const w of webhooks) {
      this.checkDryRun(w, ctx);
      await this.callOne(client, w, this.input(attrs, def, ctx, undefined, old));
    }
  }

  async admit(op: "create" | "update", def: ResourceDef, obj: KubeObject, old: KubeObject | undefined, ctx: AdmissionContext): Promise<void> {
    if (def.group === ADMISSION_GROUP) return;
    const mutatingConfigs = this.sources.mutating();
    const validatingConfigs = this.sources.validating();
    if (!mutatingConfigs.length && !validatingConfigs.length) return;
    const attrs = this.attributes(op === "create" ? "CREATE" : "UPDATE", def, ctx);
    const matching = (configs: WebhookConfiguration[], o: KubeObject) => this.matching(configs, attrs, o, old);
    const mutating = matching(mutatingConfigs, obj);
    if (!mutating.length && !matching(validatingConfigs, obj).length) return;
    const client = await (this.client ??= import("./call"));
    const input = (o: KubeObject) => this.input(attrs, def, ctx, o, old);

    // Mutating, in order; IfNeeded ones again if a later webhook changed the object.
    const call = async (w: Webhook): Promise<boolean> => {
      this.checkDryRun(w, ctx);
      const answer = await this.callOne(client, w, input(obj));
      if (!answer?.patched) return false;
      const before = JSON.stringify(obj);
      replaceContents(obj, answer.patched);
      return JSON.stringify(obj) !== before;
    };
    const changedSince = new Map<Webhook, boolean>();
    for (const w of mutating) {
      const changed = await call(w);
      for (const k of changedSince.keys()) if (changed) changedSince.set(k, true);
      if (w.reinvocationPolicy === "IfNeeded") changedSince.set(w, false);
    }
    for (const [w, changed] of changedSince) if (changed) await call(w);
    if (mutating.length) {
      // What the webhooks made must still be a valid object.
      def.defaults(obj);
      const errs = [...validateObjectMeta(obj.metadata, { namespaced: def.namespaced, nameValidator: def.nameValidator }), ...def.validate(obj, old)];
      if (old && def.immutable) errs.push(...def.immutable(obj, old));
      if (errs.length) throw invalid({ group: def.group, plural: def.plural, kind: def.kind }, obj.metadata.name ?? "", fieldCauses(errs));
    }

    // Validating, all at once, on the final object; the first refusal in order wins.
    const validating = matching(validatingConfigs, obj);
    validating.forEach((w) => this.checkDryRun(w, ctx));
    const results = await Promise.allSettled(validating.map((w) => this.callOne(client, w, input(structuredClone(obj)))));
    const refused = results.find((r) => r.status === "rejected");
    if (refused) throw (refused as PromiseRejectedResult).reason;
  }

  private checkDryRun(w: Webhook, ctx: AdmissionContext) {
    if (ctx.dryRun && w.sideEffects !== "None" && w.sideEffects !== "NoneOnDryRun") throw badRequest(`admission webhook "${w.name}" does not support dry run`);
  }

  /** One call with its failure policy applied: undefined when an Ignore webhook failed. */
  private async callOne(client: typeof import("./call"), w: Webhook, r: Parameters<typeof import("./call").callWebhook>[2]) {
    let endpoint: Endpoint;
    try {
      endpoint = this.endpoint(w);
    } catch (e) {
      if (w.failurePolicy === "Ignore") return undefined;
      throw client.callFailed(w.name, (e as Error).message);
    }
    try {
      const answer = await client.callWebhook(w, endpoint, r);
      answer.warnings.forEach(addWarning);
      return answer;
    } catch (e) {
      const err = e as Error & { warnings?: string[]; code?: number };
      err.warnings?.forEach(addWarning);
      const isDenial = err.message.startsWith(`admission webhook "${w.name}" denied`);
      if (isDenial || w.failurePolicy !== "Ignore") throw e;
      log.warn("webhook failed and was ignored", { webhook: w.name, error: err.message });
      return undefined;
    }
  }

  /** The URL, or a ready endpoint of the Service reached at its pod IP, the certificate checked for <svc>.<ns>.svc. */
  private endpoint(w: Webhook): Endpoint {
    const cc = w.clientConfig;
    if (cc.url) return { url: cc.url };
    const s = cc.service!;
    const svcPort = s.port ?? 443;
    const service = this.sources.service(s.namespace, s.name);
    if (!service) throw new Error(`failed to call webhook: service "${s.name}" not found`);
    const port = service.spec?.ports?.find((p) => p.port === svcPort);
    if (!port) throw new Error(`failed to call webhook: service port ${svcPort} is not found`);
    for (const slice of this.sources.endpointSlices(s.namespace, s.name)) {
      const target = slice.ports?.find((p) => (p.name ?? "") === (port.name ?? ""));
      const ep = slice.endpoints?.find((e) => e.conditions?.ready !== false && e.addresses.length);
      if (target?.port && ep) {
        const host = ep.addresses[0]!.includes(":") ? `[${ep.addresses[0]}]` : ep.addresses[0];
        return { url: `https://${host}:${target.port}${s.path ?? ""}`, serverName: `${s.name}.${s.namespace}.svc` };
      }
    }
    throw new Error(`failed to call webhook: service "${s.namespace}/${s.name}" has no ready endpoints`);
  }
}

/** Makes `target` equal to `source` in place (plugins change the object they are given). */
function replaceContents(target: KubeObject, source: KubeObject) {
  for (const k of Object.keys(target)) delete (target as Record<string, unknown>)[k];
  Object.assign(target, source);
}
