// admissionregistration.k8s.io/v1 ValidatingWebhookConfiguration and MutatingWebhookConfiguration:
// cluster-scoped lists of HTTPS endpoints the API server asks about writes before storing them
// (the webhook admission plugin in src/server/apiserver/admission/webhooks). Defaults and
// validation follow upstream's v1 rules.
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import { KINDS } from "../../kinds";
import type { KubeObject } from "../../meta";
import type { ResourceDef } from "../../resource";
import { LabelSelectorSchema, MergeList, Obj, TopLevel } from "../../schema";
import { age, ageColumn, column, nameColumn } from "../../table";
import { fieldDuplicate, fieldInvalid, fieldNotSupported, fieldRequired, isDns1123Label, isDns1123Subdomain, validateLabelSelector } from "../../validation";

const Str = () => Type.String();
const Opt = Type.Optional;
const StrList = () => Type.Array(Type.String());

const RuleSchema = Obj({
  operations: Opt(StrList()),
  apiGroups: Opt(StrList()),
  apiVersions: Opt(StrList()),
  resources: Opt(StrList()),
  scope: Opt(Str()),
});

const ClientConfigSchema = Obj({
  url: Opt(Str()),
  service: Opt(Obj({ namespace: Str(), name: Str(), path: Opt(Str()), port: Opt(Type.Integer()) })),
  caBundle: Opt(Str()), // base64, as JSON carries []byte
});

const MatchConditionSchema = Obj({ name: Str(), expression: Str() });

const webhookProps = {
  name: Str(),
  clientConfig: ClientConfigSchema,
  rules: Opt(Type.Array(RuleSchema)),
  failurePolicy: Opt(Str()),
  matchPolicy: Opt(Str()),
  namespaceSelector: Opt(LabelSelectorSchema),
  objectSelector: Opt(LabelSelectorSchema),
  sideEffects: Opt(Str()),
  timeoutSeconds: Opt(Type.Integer()),
  admissionReviewVersions: Opt(StrList()),
  matchConditions: Opt(MergeList(MatchConditionSchema, "name")),
};

export const ValidatingWebhookSchema = Obj(webhookProps);
export const MutatingWebhookSchema = Obj({ ...webhookProps, reinvocationPolicy: Opt(Str()) });

export const ValidatingWebhookConfigurationSchema = TopLevel(
  { webhooks: Opt(MergeList(ValidatingWebhookSchema, "name")) },
  "ValidatingWebhookConfiguration describes the configuration of and admission webhook that accept or reject and object without changing it.",
);
export const MutatingWebhookConfigurationSchema = TopLevel(
  { webhooks: Opt(MergeList(MutatingWebhookSchema, "name")) },
  "MutatingWebhookConfiguration describes the configuration of and admission webhook that accept or reject and may change the object.",
);

export type Rule = Static<typeof RuleSchema>;
export type ValidatingWebhook = Static<typeof ValidatingWebhookSchema>;
export type MutatingWebhook = Static<typeof MutatingWebhookSchema>;
/** Either kind of webhook; mutating ones may carry reinvocationPolicy. */
export type Webhook = MutatingWebhook;
export type WebhookConfiguration = { webhooks?: Webhook[] } & KubeObject;

const FAILURE_POLICIES = ["Fail", "Ignore"];
const MATCH_POLICIES = ["Exact", "Equivalent"];
const SIDE_EFFECTS = ["None", "NoneOnDryRun"];
const REINVOCATION = ["Never", "IfNeeded"];
const SCOPES = ["*", "Cluster", "Namespaced"];
const OPERATIONS = ["*", "CREATE", "UPDATE", "DELETE", "CONNECT"];
const REVIEW_VERSIONS = ["v1", "v1beta1"];

function defaultWebhook(w: Webhook, mutating: boolean) {
  w.failurePolicy ??= "Fail";
  w.matchPolicy ??= "Equivalent";
  w.namespaceSelector ??= {};
  w.objectSelector ??= {};
  w.timeoutSeconds ??= 10;
  if (mutating) w.reinvocationPolicy ??= "Never";
  for (const r of w.rules ?? []) r.scope ??= "*";
  if (w.clientConfig?.service) w.clientConfig.service.port ??= 443;
}

/**
 * Upstream's resource list rules: `*\/*` stands alone; `*` excludes plain resources; an entry
 * after `a/*` may not name another subresource of a, nor one after `*\/b` another resource's b.
 */
function validateResources(resources: string[], path: string): FieldError[] {
  if (!resources.length) return [fieldRequired(path)];
  const errs: FieldError[] = [];
  const allSubresourcesOf = new Set<string>(); // seen "a/*"
  const allResourcesOf = new Set<string>(); // seen "*/b"
  for (const [i, r] of resources.entries()) {
    if (r === "") {
      errs.push(fieldRequired(`${path}[${i}]`));
      continue;
    }
    const slash = r.indexOf("/");
    if (slash < 0) continue;
    const res = r.slice(0, slash);
    const sub = r.slice(slash + 1);
    if (allSubresourcesOf.has(res)) errs.push(fieldInvalid(`${path}[${i}]`, r, `if '${res}/*' is present, must not specify ${r}`));
    if (allResourcesOf.has(sub)) errs.push(fieldInvalid(`${path}[${i}]`, r, `if '*/${sub}' is present, must not specify ${r}`));
    if (sub === "*") allSubresourcesOf.add(res);
    if (res === "*") allResourcesOf.add(sub);
  }
  if (resources.length > 1 && resources.includes("*/*")) errs.push(fieldInvalid(path, resources, "if '*/*' is present, must not specify other resources"));
  if (resources.includes("*") && resources.some((r) => r !== "*" && r !== "" && !r.includes("/")))
    errs.push(fieldInvalid(path, resources, "if '*' is present, must not specify other resources without subresources"));
  return errs;
}

function validateRule(r: Rule & { operations?: string[] }, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const list = (values: string[] | undefined, field: string, what: string) => {
    if (!values?.length) errs.push(fieldRequired(`${path}.${field}`));
    else if (values.length > 1 && values.includes("*")) errs.push(fieldInvalid(`${path}.${field}`, values, `if '*' is present, must not specify other ${what}`));
  };
  list(r.operations, "operations", "operations");
  for (const [i, op] of (r.operations ?? []).entries()) if (!OPERATIONS.includes(op)) errs.push(fieldNotSupported(`${path}.operations[${i}]`, op, OPERATIONS));
  list(r.apiGroups, "apiGroups", "API groups");
  list(r.apiVersions, "apiVersions", "API versions");
  for (const [i, v] of (r.apiVersions ?? []).entries()) if (v === "") errs.push(fieldRequired(`${path}.apiVersions[${i}]`));
  errs.push(...validateResources(r.resources ?? [], `${path}.resources`));
  if (r.scope !== undefined && !SCOPES.includes(r.scope)) errs.push(fieldNotSupported(`${path}.scope`, r.scope, SCOPES));
  return errs;
}

function validateClientConfig(c: Webhook["clientConfig"] | undefined, path: string): FieldError[] {
  if (!c) return [fieldRequired(path, "exactly one of url or service is required")];
  const errs: FieldError[] = [];
  if (c.url !== undefined && c.service) return [fieldRequired(path, "exactly one of url or service is required")];
  if (c.url === undefined && !c.service) return [fieldRequired(path, "exactly one of url or service is required")];
  if (c.url !== undefined) {
    // Go's url.Parse, as far as these checks go: scheme://[user@]host[/path][?query][#fragment].
    const m = /^([A-Za-z][A-Za-z0-9+.-]*):\/\/(?:([^@/?#]*)@)?([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#(.*))?$/.exec(c.url);
    if (!m || !m[3]) errs.push(fieldInvalid(`${path}.url`, c.url, "host must be provided"));
    if (m) {
      if (m[1] !== "https") errs.push(fieldInvalid(`${path}.url`, m[1], "'https' is the only allowed URL scheme"));
      if (m[2] !== undefined) errs.push(fieldInvalid(`${path}.url`, m[2], "user information is not permitted in the URL"));
      if (m[6] !== undefined) errs.push(fieldInvalid(`${path}.url`, m[6], "fragments are not permitted in the URL"));
      if (m[5] !== undefined) errs.push(fieldInvalid(`${path}.url`, m[5], "query parameters are not permitted in the URL"));
    }
  }
  const s = c.service;
  if (s) {
    if (!s.name) errs.push(fieldRequired(`${path}.service.name`, "service name is required"));
    else errs.push(...isDns1123Label(s.name).map((m) => fieldInvalid(`${path}.service.name`, s.name, m)));
    if (!s.namespace) errs.push(fieldRequired(`${path}.service.namespace`, "service namespace is required"));
    else errs.push(...isDns1123Label(s.namespace).map((m) => fieldInvalid(`${path}.service.namespace`, s.namespace, m)));
    if (s.path !== undefined && s.path !== "") {
      if (!s.path.startsWith("/")) errs.push(fieldInvalid(`${path}.service.path`, s.path, "must start with a '/'"));
      else if (s.path !== "/") {
        const segments = s.path.slice(1).replace(/\/$/, "").split("/");
        const empty = segments.findIndex((x) => x === "");
        if (empty >= 0) errs.push(fieldInvalid(`${path}.service.path`, s.path, `segment[${empty}] may not be empty`));
      }
    }
    if (s.port !== undefined && (s.port < 1 || s.port > 65535)) errs.push(fieldInvalid(`${path}.service.port`, s.port, "port is not valid: must be between 1 and 65535, inclusive"));
  }
  return errs;
}

function validateWebhook(w: Webhook, path: string, mutating: boolean): FieldError[] {
  const errs: FieldError[] = [];
  // Upstream: a fully qualified name, at least three dot-separated segments.
  if (!w.name) errs.push(fieldRequired(`${path}.name`));
  else {
    const dns = isDns1123Subdomain(w.name);
    if (dns.length) errs.push(fieldInvalid(`${path}.name`, w.name, dns.join(",")));
    else if (w.name.split(".").length < 3) errs.push(fieldInvalid(`${path}.name`, w.name, "should be a domain with at least three segments separated by dots"));
  }
  for (const [i, r] of (w.rules ?? []).entries()) errs.push(...validateRule(r, `${path}.rules[${i}]`));
  if (w.failurePolicy !== undefined && !FAILURE_POLICIES.includes(w.failurePolicy)) errs.push(fieldNotSupported(`${path}.failurePolicy`, w.failurePolicy, FAILURE_POLICIES));
  if (w.matchPolicy !== undefined && !MATCH_POLICIES.includes(w.matchPolicy)) errs.push(fieldNotSupported(`${path}.matchPolicy`, w.matchPolicy, MATCH_POLICIES));
  if (w.sideEffects === undefined) errs.push(fieldRequired(`${path}.sideEffects`, `must specify one of ${SIDE_EFFECTS.join(", ")}`));
  else if (!SIDE_EFFECTS.includes(w.sideEffects)) errs.push(fieldNotSupported(`${path}.sideEffects`, w.sideEffects, SIDE_EFFECTS));
  if (mutating && w.reinvocationPolicy !== undefined && !REINVOCATION.includes(w.reinvocationPolicy))
    errs.push(fieldNotSupported(`${path}.reinvocationPolicy`, w.reinvocationPolicy, REINVOCATION));
  if (w.timeoutSeconds !== undefined && (w.timeoutSeconds < 1 || w.timeoutSeconds > 30))
    errs.push(fieldInvalid(`${path}.timeoutSeconds`, w.timeoutSeconds, "the timeout value must be between 1 and 30 seconds"));
  const versions = w.admissionReviewVersions ?? [];
  if (!versions.length) errs.push(fieldRequired(`${path}.admissionReviewVersions`, `must specify one of ${REVIEW_VERSIONS.join(", ")}`));
  else {
    const seen = new Set<string>();
    for (const [i, v] of versions.entries()) {
      if (seen.has(v)) errs.push(fieldInvalid(`${path}.admissionReviewVersions[${i}]`, v, "duplicate version"));
      seen.add(v);
    }
    if (!versions.some((v) => REVIEW_VERSIONS.includes(v)))
      errs.push(fieldInvalid(`${path}.admissionReviewVersions`, versions, `must include at least one of ${REVIEW_VERSIONS.join(", ")}`));
  }
  errs.push(...validateLabelSelector(w.namespaceSelector, `${path}.namespaceSelector`));
  errs.push(...validateLabelSelector(w.objectSelector, `${path}.objectSelector`));
  errs.push(...validateClientConfig(w.clientConfig, `${path}.clientConfig`));
  const names = new Set<string>();
  for (const [i, m] of (w.matchConditions ?? []).entries()) {
    if (!m.name) errs.push(fieldRequired(`${path}.matchConditions[${i}].name`));
    else if (names.has(m.name)) errs.push(fieldDuplicate(`${path}.matchConditions[${i}].name`, m.name));
    names.add(m.name);
    if (!m.expression) errs.push(fieldRequired(`${path}.matchConditions[${i}].expression`));
  }
  if ((w.matchConditions?.length ?? 0) > 64) errs.push(fieldInvalid(`${path}.matchConditions`, w.matchConditions!.length, "must have at most 64 items"));
  return errs;
}

function validateConfiguration(c: WebhookConfiguration, mutating: boolean): FieldError[] {
  const errs: FieldError[] = [];
  const names = new Set<string>();
  for (const [i, w] of (c.webhooks ?? []).entries()) {
    if (w.name && names.has(w.name)) errs.push(fieldDuplicate(`webhooks[${i}].name`, w.name));
    names.add(w.name);
    errs.push(...validateWebhook(w, `webhooks[${i}]`, mutating));
  }
  return errs;
}

const table: ResourceDef<WebhookConfiguration>["table"] = {
  columns: [nameColumn, column("Webhooks", "Webhooks indicates the number of webhooks in the configuration", 0, "integer"), ageColumn],
  row: (c, now) => [c.metadata.name, c.webhooks?.length ?? 0, age(c.metadata.creationTimestamp, now)],
};

export const validatingWebhookConfigurations: ResourceDef<WebhookConfiguration> = {
  ...KINDS.validatingWebhookConfigurations,
  schema: ValidatingWebhookConfigurationSchema,
  subresources: [],
  hasStatus: false,
  defaults: (c) => c.webhooks?.forEach((w) => defaultWebhook(w, false)),
  validate: (c) => validateConfiguration(c, false),
  table,
};

export const mutatingWebhookConfigurations: ResourceDef<WebhookConfiguration> = {
  ...KINDS.mutatingWebhookConfigurations,
  schema: MutatingWebhookConfigurationSchema,
  subresources: [],
  hasStatus: false,
  defaults: (c) => c.webhooks?.forEach((w) => defaultWebhook(w, true)),
  validate: (c) => validateConfiguration(c, true),
  table,
};
