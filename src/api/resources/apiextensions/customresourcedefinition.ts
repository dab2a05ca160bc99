// apiextensions.k8s.io/v1 CustomResourceDefinition: a kind defined at run time. The API server
// serves its resources once it is Established (server/apiserver/custom-resources.ts); each
// version's OpenAPI v3 schema validates, defaults and prunes its objects (api/crd/structural.ts).
import { Type, type Static } from "@sinclair/typebox";
import type { FieldError } from "../../errors";
import type { KubeObject } from "../../meta";
import { KINDS } from "../../kinds";
import type { ResourceDef } from "../../resource";
import { Doc, MergeList, Obj, TopLevel, Time } from "../../schema";
import { column, nameColumn } from "../../table";
import { fieldDuplicate, fieldInvalid, fieldNotSupported, fieldRequired, isDns1035Label, isDns1123Subdomain } from "../../validation";
import { Int32 } from "../common";
import { structuralProblems, type JSONSchemaProps } from "../../crd/structural";

const Str = (description: string) => Type.Optional(Type.String({ description }));
const Bool = (description: string) => Type.Optional(Type.Boolean({ description }));
const Strings = (description: string) => Type.Optional(Type.Array(Type.String(), { description }));

export const CustomResourceDefinitionNamesSchema = Obj(
  {
    plural: Str("The plural name of the resource, served at /apis/<group>/<version>/.../<plural>; lower case."),
    singular: Str("The singular name of the resource; lower case. Defaults to the lower-cased kind."),
    shortNames: Strings("Short names kubectl accepts for the resource (`kubectl get <shortname>`)."),
    kind: Str("The kind of the resource's objects, normally CamelCase and singular."),
    listKind: Str("The kind of a list of the objects; defaults to <kind>List."),
    categories: Strings("Groups of resources this one belongs to, such as `all` (`kubectl get all`)."),
  },
  { title: "CustomResourceDefinitionNames" },
);

/** A version's OpenAPI v3 schema: any JSONSchemaProps, interpreted at run time. */
const OpenApiV3Schema = Type.Unknown({ description: "The OpenAPI v3 schema that validates, prunes and defaults this version's objects." });

export const CustomResourceColumnDefinitionSchema = Obj(
  {
    name: Str("The column's header."),
    type: Str("The OpenAPI type of the column: integer, number, string, boolean or date."),
    format: Str("An optional OpenAPI format of the column."),
    description: Str("What the column shows."),
    priority: Type.Optional(Int32({ description: "0: shown by `kubectl get`; greater: only with `-o wide`." })),
    jsonPath: Str("A simple JSONPath evaluated on each object for the column's value."),
  },
  { title: "CustomResourceColumnDefinition" },
);

export const CustomResourceSubresourceScaleSchema = Obj(
  {
    specReplicasPath: Str("The JSON path under .spec of the replicas the Scale's spec.replicas maps to."),
    statusReplicasPath: Str("The JSON path under .status of the replicas the Scale's status.replicas maps to."),
    labelSelectorPath: Str("The JSON path of a string label selector the Scale's status.selector maps to."),
  },
  { title: "CustomResourceSubresourceScale" },
);

export const CustomResourceDefinitionVersionSchema = Obj(
  {
    name: Str("The version's name (v1, v2beta1...), served at /apis/<group>/<name>/..."),
    served: Bool("Whether the version is served by the REST API."),
    storage: Bool("Whether objects are stored in this version; exactly one version is."),
    deprecated: Bool("Whether the version is deprecated (requests get a warning)."),
    deprecationWarning: Str("The warning deprecated requests get instead of the default one."),
    schema: Type.Optional(Obj({ openAPIV3Schema: Type.Optional(OpenApiV3Schema) }, { title: "CustomResourceValidation" })),
    subresources: Type.Optional(
      Obj(
        {
          status: Type.Optional(Type.Object({}, { additionalProperties: true, title: "CustomResourceSubresourceStatus", description: "Enables the /status subresource." })),
          scale: Type.Optional(CustomResourceSubresourceScaleSchema),
        },
        { title: "CustomResourceSubresources" },
      ),
    ),
    additionalPrinterColumns: Type.Optional(Type.Array(CustomResourceColumnDefinitionSchema, { description: "Columns `kubectl get` shows besides the name." })),
  },
  { title: "CustomResourceDefinitionVersion" },
);

export const CustomResourceDefinitionConditionSchema = Obj(
  {
    type: Str("Established, NamesAccepted or Terminating."),
    status: Str("True, False or Unknown."),
    lastTransitionTime: Type.Optional(Time),
    reason: Str("Why the condition last changed, one CamelCase word."),
    message: Str("Why the condition last changed, for people."),
  },
  { title: "CustomResourceDefinitionCondition" },
);

export const CustomResourceDefinitionSchema = TopLevel(
  {
    spec: Type.Optional(
      Obj({
        group: Str("The API group of the resource, served at /apis/<group>/..."),
        names: Type.Optional(CustomResourceDefinitionNamesSchema),
        scope: Str("Cluster or Namespaced."),
        versions: Type.Optional(Type.Array(CustomResourceDefinitionVersionSchema, { description: "Every version the resource is defined in." })),
        conversion: Type.Optional(
          Obj(
            { strategy: Str("None: only apiVersion is rewritten between versions. Webhook is not supported."), webhook: Type.Optional(Type.Unknown()) },
            { title: "CustomResourceConversion" },
          ),
        ),
        preserveUnknownFields: Bool("Deprecated: keep fields the schema does not name; false in v1."),
      }),
    ),
    status: Type.Optional(
      Obj({
        conditions: Type.Optional(MergeList(CustomResourceDefinitionConditionSchema, "type")),
        acceptedNames: Type.Optional(Doc(CustomResourceDefinitionNamesSchema, "The names actually served in discovery.")),
        storedVersions: Strings("Every version objects have ever been stored in."),
      }),
    ),
  },
  "CustomResourceDefinition represents a resource that should be exposed on the API server. Its name MUST be in the format <.spec.name>.<.spec.group>.",
);

export type CustomResourceDefinition = Static<typeof CustomResourceDefinitionSchema> & KubeObject;
export type CustomResourceDefinitionVersion = Static<typeof CustomResourceDefinitionVersionSchema>;
export type CustomResourceDefinitionNames = Static<typeof CustomResourceDefinitionNamesSchema>;

export const SCOPES = ["Cluster", "Namespaced"];
const API_APPROVED = "api-approved.kubernetes.io";
const KIND_PATTERN = /^[a-zA-Z]([-a-zA-Z0-9]*[a-zA-Z0-9])?$/;

function validateNames(names: CustomResourceDefinitionNames | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const n = names ?? {};
  const label = (v: string | undefined, field: string, required: boolean) => {
    if (!v) {
      if (required) errs.push(fieldRequired(`${path}.${field}`));
      return;
    }
    const problems = isDns1035Label(v);
    if (problems.length) errs.push(fieldInvalid(`${path}.${field}`, v, problems.join("; ")));
  };
  label(n.plural, "plural", true);
  label(n.singular, "singular", false);
  (n.shortNames ?? []).forEach((s, i) => label(s, `shortNames[${i}]`, true));
  (n.categories ?? []).forEach((s, i) => label(s, `categories[${i}]`, true));
  const kind = (v: string | undefined, field: string, required: boolean) => {
    if (!v) {
      if (required) errs.push(fieldRequired(`${path}.${field}`));
    } else if (!KIND_PATTERN.test(v.toLowerCase()) || !/^[a-z]([-a-z0-9]*[a-z0-9])?$/.test(v.toLowerCase()))
      errs.push(fieldInvalid(`${path}.${field}`, v, "may have mixed case, but should otherwise match: [a-z]([-a-z0-9]*[a-z0-9])?"));
  };
  kind(n.kind, "kind", true);
  kind(n.listKind, "listKind", false);
  if (n.kind && n.kind === n.listKind) errs.push(fieldInvalid(`${path}.listKind`, n.listKind, "kind and listKind cannot be the same"));
  return errs;
}

function validateVersion(v: CustomResourceDefinitionVersion, path: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!v.name) errs.push(fieldRequired(`${path}.name`));
  else {
    const problems = isDns1035Label(v.name);
    if (problems.length) errs.push(fieldInvalid(`${path}.name`, v.name, problems.join("; ")));
  }
  const schema = v.schema?.openAPIV3Schema as JSONSchemaProps | undefined;
  if (schema === undefined) errs.push(fieldRequired(`${path}.schema.openAPIV3Schema`, "schemas are required"));
  else if (typeof schema !== "object" || schema === null || Array.isArray(schema)) errs.push(fieldInvalid(`${path}.schema.openAPIV3Schema`, schema, "must be an object"));
  else errs.push(...structuralProblems(schema, `${path}.schema.openAPIV3Schema`));
  const scale = v.subresources?.scale;
  if (scale) {
    if (!scale.specReplicasPath) errs.push(fieldRequired(`${path}.subresources.scale.specReplicasPath`));
    else if (!scale.specReplicasPath.startsWith(".spec.")) errs.push(fieldInvalid(`${path}.subresources.scale.specReplicasPath`, scale.specReplicasPath, "should be a json path under .spec"));
    if (!scale.statusReplicasPath) errs.push(fieldRequired(`${path}.subresources.scale.statusReplicasPath`));
    else if (!scale.statusReplicasPath.startsWith(".status.")) errs.push(fieldInvalid(`${path}.subresources.scale.statusReplicasPath`, scale.statusReplicasPath, "should be a json path under .status"));
    if (scale.labelSelectorPath && !/^\.(spec|status)\./.test(scale.labelSelectorPath))
      errs.push(fieldInvalid(`${path}.subresources.scale.labelSelectorPath`, scale.labelSelectorPath, "should be a json path under either .spec or .status"));
  }
  (v.additionalPrinterColumns ?? []).forEach((c, i) => {
    const p = `${path}.additionalPrinterColumns[${i}]`;
    if (!c.name) errs.push(fieldRequired(`${p}.name`));
    if (!c.type) errs.push(fieldRequired(`${p}.type`));
    else if (!["integer", "number", "string", "boolean", "date"].includes(c.type)) errs.push(fieldNotSupported(`${p}.type`, c.type, ["integer", "number", "string", "boolean", "date"]));
    if (!c.jsonPath) errs.push(fieldRequired(`${p}.jsonPath`));
  });
  return errs;
}

/** Upstream's ValidateCustomResourceDefinition (and ...Update), the essentials. */
export function validateCustomResourceDefinition(crd: CustomResourceDefinition, old?: CustomResourceDefinition): FieldError[] {
  const errs: FieldError[] = [];
  const spec = crd.spec ?? {};
  const plural = spec.names?.plural ?? "";
  const group = spec.group ?? "";
  if (crd.metadata.name !== `${plural}.${group}`) errs.push(fieldInvalid("metadata.name", crd.metadata.name ?? "", 'must be spec.names.plural+"."+spec.group'));
  if (!group) errs.push(fieldRequired("spec.group"));
  else {
    const problems = isDns1123Subdomain(group);
    if (problems.length) errs.push(fieldInvalid("spec.group", group, problems.join("; ")));
    else if (group.split(".").length < 2) errs.push(fieldInvalid("spec.group", group, "should be a domain with at least one dot"));
  }
  if (!spec.scope) errs.push(fieldRequired("spec.scope"));
  else if (!SCOPES.includes(spec.scope)) errs.push(fieldNotSupported("spec.scope", spec.scope, SCOPES));
  errs.push(...validateNames(spec.names, "spec.names"));
  const versions = spec.versions ?? [];
  if (!versions.length) errs.push(fieldRequired("spec.versions", "must have exactly one version marked as storage version"));
  else {
    const seen = new Set<string>();
    versions.forEach((v, i) => {
      errs.push(...validateVersion(v, `spec.versions[${i}]`));
      if (v.name && seen.has(v.name)) errs.push(fieldDuplicate(`spec.versions[${i}].name`, v.name));
      if (v.name) seen.add(v.name);
    });
    const storage = versions.filter((v) => v.storage).length;
    if (storage !== 1) errs.push(fieldInvalid("spec.versions", versions, "must have exactly one version marked as storage version"));
  }
  // Groups under k8s.io and kubernetes.io are upstream's: a definition there says it was approved.
  if (/(^|\.)(k8s\.io|kubernetes\.io)$/.test(group) && !crd.metadata.annotations?.[API_APPROVED])
    errs.push(fieldRequired(`metadata.annotations[${API_APPROVED}]`, `protected groups must have approval annotation "${API_APPROVED}", see https://github.com/kubernetes/enhancements/pull/1111`));
  const strategy = spec.conversion?.strategy ?? "None";
  if (strategy !== "None") errs.push(fieldNotSupported("spec.conversion.strategy", strategy, ["None"]));
  if (spec.preserveUnknownFields) errs.push(fieldInvalid("spec.preserveUnknownFields", true, "must be false in order to use defaults in the schema"));
  if (old) {
    if (old.spec?.group !== spec.group) errs.push(fieldInvalid("spec.group", group, "field is immutable"));
    if (old.spec?.scope !== spec.scope) errs.push(fieldInvalid("spec.scope", spec.scope, "field is immutable"));
  }
  return errs;
}

/** Held by a CRD until the API server has deleted its objects. */
export const CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io";

function defaultCustomResourceDefinition(crd: CustomResourceDefinition) {
  const meta = crd.metadata;
  if (!meta.deletionTimestamp && !meta.finalizers?.includes(CLEANUP_FINALIZER)) meta.finalizers = [...(meta.finalizers ?? []), CLEANUP_FINALIZER];
  const spec = (crd.spec ??= {});
  const names = (spec.names ??= {});
  if (names.kind) {
    names.singular ??= names.kind.toLowerCase();
    names.listKind ??= `${names.kind}List`;
  }
  spec.conversion ??= {};
  spec.conversion.strategy ??= "None";
  for (const v of spec.versions ?? []) {
    v.served ??= false;
    v.storage ??= false;
    for (const c of v.additionalPrinterColumns ?? []) c.priority ??= 0;
  }
}

export const customResourceDefinitions: ResourceDef<CustomResourceDefinition> = {
  ...KINDS.customResourceDefinitions,
  schema: CustomResourceDefinitionSchema,
  subresources: ["status"],
  hasStatus: true,
  defaults: defaultCustomResourceDefinition,
  validate: validateCustomResourceDefinition,
  table: {
    columns: [nameColumn, { ...column("Created At", "The time the definition was created.", 0, "date") }],
    row: (crd) => [crd.metadata.name, crd.metadata.creationTimestamp ?? ""],
  },
};
