// Syntactic validation shared by all resources: names, labels, annotations, metadata, selectors,
// ports. Messages follow upstream's wording (k8s.io/apimachinery/pkg/util/validation) because
// users and tests grep for them, and field paths follow upstream's (`metadata.name`).
import type { FieldError } from "./errors";
import type { ObjectMeta } from "./meta";

// ---------------------------------------------------------------------------------------------
// Field errors, with messages in upstream's "Invalid value: ...: detail" shape so that the
// `invalid()` Status message reads exactly like the one kubectl users know.

/** How upstream renders a bad value inside a message: strings quoted, numbers bare. */
export function renderValue(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v);
  if (typeof v === "number" || typeof v === "boolean" || typeof v === "bigint") return String(v);
  if (v === undefined || v === null) return "null";
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

export const fieldRequired = (field: string, detail = ""): FieldError => ({
  field,
  type: "Required",
  message: detail ? `Required value: ${detail}` : "Required value",
});

export const fieldInvalid = (field: string, value: unknown, detail: string): FieldError => ({
  field,
  type: "Invalid",
  message: `Invalid value: ${renderValue(value)}${detail ? `: ${detail}` : ""}`,
});

export const fieldNotSupported = (field: string, value: unknown, supported: string[]): FieldError => ({
  field,
  type: "NotSupported",
  message: `Unsupported value: ${renderValue(value)}${
    supported.length ? `: supported values: ${supported.map((s) => JSON.stringify(s)).join(", ")}` : ""
  }`,
});

export const fieldDuplicate = (field: string, value: unknown): FieldError => ({
  field,
  type: "Duplicate",
  message: `Duplicate value: ${renderValue(value)}`,
});

export const fieldForbidden = (field: string, detail = ""): FieldError => ({
  field,
  type: "Forbidden",
  message: detail ? `Forbidden: ${detail}` : "Forbidden",
});

export const fieldTooLong = (field: string, maxBytes: number): FieldError => ({
  field,
  type: "TooLong",
  message: `Too long: must have at most ${maxBytes} bytes`,
});

export const fieldTooMany = (field: string, actual: number, max: number): FieldError => ({
  field,
  type: "TooMany",
  message: `Too many: ${actual}: must have at most ${max} items`,
});

// ---------------------------------------------------------------------------------------------
// String formats. Each returns the list of problems (empty when valid), like upstream's IsXxx.

/** Upstream's RegexError: the message, examples, and the regex users can test against. */
function regexError(msg: string, fmt: string, ...examples: string[]): string {
  if (examples.length === 0) return `${msg} (regex used for validation is '${fmt}')`;
  // Upstream joins "'a', " + " or " + "'b', ", hence the double space; kept for familiarity.
  return `${msg} (e.g. ${examples.map((e) => `'${e}', `).join(" or ")}regex used for validation is '${fmt}')`;
}

const maxLenError = (n: number) => `must be no more than ${n} characters`;

const DNS1123_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?";
const DNS1123_LABEL_RE = new RegExp(`^${DNS1123_LABEL_FMT}$`);
const DNS1123_SUBDOMAIN_FMT = `${DNS1123_LABEL_FMT}(\\.${DNS1123_LABEL_FMT})*`;
const DNS1123_SUBDOMAIN_RE = new RegExp(`^${DNS1123_SUBDOMAIN_FMT}$`);
const DNS1035_LABEL_FMT = "[a-z]([-a-z0-9]*[a-z0-9])?";
const DNS1035_LABEL_RE = new RegExp(`^${DNS1035_LABEL_FMT}$`);
const QUALIFIED_NAME_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]";
const QUALIFIED_NAME_RE = new RegExp(`^${QUALIFIED_NAME_FMT}$`);
const QUALIFIED_NAME_MSG =
  "must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character";
const LABEL_VALUE_FMT = `(${QUALIFIED_NAME_FMT})?`;
const LABEL_VALUE_RE = new RegExp(`^${LABEL_VALUE_FMT}$`);
const CONFIG_KEY_FMT = "[-._a-zA-Z0-9]+";
const CONFIG_KEY_RE = new RegExp(`^${CONFIG_KEY_FMT}$`);

export const DNS1123_LABEL_MAX = 63;
export const DNS1123_SUBDOMAIN_MAX = 253;
export const LABEL_VALUE_MAX = 63;
export const QUALIFIED_NAME_MAX = 63;
/** Upstream's TotalAnnotationSizeLimitB: keys plus values of all annotations. */
export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;

export function isDns1123Label(s: string): string[] {
  const errs: string[] = [];
  if (s.length > DNS1123_LABEL_MAX) errs.push(maxLenError(DNS1123_LABEL_MAX));
  if (!DNS1123_LABEL_RE.test(s))
    errs.push(
      regexError(
        "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character",
        DNS1123_LABEL_FMT,
        "my-name",
        "123-abc",
      ),
    );
  return errs;
}

export function isDns1123Subdomain(s: string): string[] {
  const errs: string[] = [];
  if (s.length > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!DNS1123_SUBDOMAIN_RE.test(s))
    errs.push(
      regexError(
        "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character",
        DNS1123_SUBDOMAIN_FMT,
        "example.com",
      ),
    );
  return errs;
}

/** Service names: like a DNS-1123 label but must start with a letter (they become env vars). */
export function isDns1035Label(s: string): string[] {
  const errs: string[] = [];
  if (s.length > DNS1123_LABEL_MAX) errs.push(maxLenError(DNS1123_LABEL_MAX));
  if (!DNS1035_LABEL_RE.test(s))
    errs.push(
      regexError(
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character",
        DNS1035_LABEL_FMT,
        "my-name",
        "abc-123",
      ),
    );
  return errs;
}

/** Label and annotation keys, finalizers: `name` or `dns.prefix/name`. */
export function isQualifiedName(s: string): string[] {
  const errs: string[] = [];
  const parts = s.split("/");
  let name: string;
  if (parts.length === 1) {
    name = parts[0];
  } else if (parts.length === 2) {
    const prefix = parts[0];
    name = parts[1];
    if (prefix.length === 0) errs.push("prefix part must be non-empty");
    else errs.push(...isDns1123Subdomain(prefix).map((m) => `prefix part ${m}`));
  } else {
    return [
      `a qualified name ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")} with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')`,
    ];
  }
  if (name.length === 0) errs.push("name part must be non-empty");
  else if (name.length > QUALIFIED_NAME_MAX) errs.push(`name part ${maxLenError(QUALIFIED_NAME_MAX)}`);
  if (!QUALIFIED_NAME_RE.test(name))
    errs.push(`name part ${regexError(QUALIFIED_NAME_MSG, QUALIFIED_NAME_FMT, "MyName", "my.name", "123-abc")}`);
  return errs;
}

export function isValidLabelValue(s: string): string[] {
  const errs: string[] = [];
  if (s.length > LABEL_VALUE_MAX) errs.push(maxLenError(LABEL_VALUE_MAX));
  if (!LABEL_VALUE_RE.test(s))
    errs.push(
      regexError(
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character",
        LABEL_VALUE_FMT,
        "MyValue",
        "my_value",
        "12345",
      ),
    );
  return errs;
}

/** ConfigMap and Secret keys: they become file names when mounted, hence no '.'/'..'. */
export function isConfigMapKey(s: string): string[] {
  const errs: string[] = [];
  if (s.length > DNS1123_SUBDOMAIN_MAX) errs.push(maxLenError(DNS1123_SUBDOMAIN_MAX));
  if (!CONFIG_KEY_RE.test(s))
    errs.push(
      regexError("a valid config key must consist of alphanumeric characters, '-', '_' or '.'", CONFIG_KEY_FMT, "key.name", "KEY_NAME", "key-name"),
    );
  if (s === ".") errs.push("must not be '.'");
  else if (s === "..") errs.push("must not be '..'");
  else if (s.startsWith("..")) errs.push("must not start with '..'");
  return errs;
}

/** IANA_SVC_NAME: what named container/service ports must look like. */
export function isValidPortName(s: string): string[] {
  const errs: string[] = [];
  if (s.length > 15) errs.push(maxLenError(15));
  if (!/^[-a-z0-9]+$/.test(s)) errs.push("must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)");
  if (!/[a-z]/.test(s)) errs.push("must contain at least one letter (a-z)");
  if (s.includes("--")) errs.push("must not contain consecutive hyphens");
  if (s.startsWith("-") || s.endsWith("-")) errs.push("must not begin or end with a hyphen");
  return errs;
}

export function isValidPortNumber(n: number): string[] {
  return Number.isInteger(n) && n >= 1 && n <= 65535 ? [] : ["must be between 1 and 65535, inclusive"];
}

// ---------------------------------------------------------------------------------------------
// Field-level validators.

const each = (field: string, value: unknown, msgs: string[]) => msgs.map((m) => fieldInvalid(field, value, m));

export function validatePortName(name: string, path: string): FieldError[] {
  return each(path, name, isValidPortName(name));
}

export function validatePortNumber(port: number, path: string): FieldError[] {
  return each(path, port, isValidPortNumber(port));
}

/** Label keys and values; upstream reports both at the map's own path. */
export function validateLabels(labels: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(labels ?? {})) {
    errs.push(...each(path, k, isQualifiedName(k)));
    if (typeof v !== "string") errs.push(fieldInvalid(path, v, "label values must be strings"));
    else errs.push(...each(path, v, isValidLabelValue(v)));
  }
  return errs;
}

export function validateAnnotations(annotations: Record<string, string> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  let total = 0;
  for (const [k, v] of Object.entries(annotations ?? {})) {
    // Upstream lower-cases annotation keys before checking them; only labels are case-strict.
    errs.push(...each(path, k, isQualifiedName(k.toLowerCase())));
    total += k.length + (typeof v === "string" ? v.length : 0);
  }
  if (total > TOTAL_ANNOTATION_SIZE_LIMIT) errs.push(fieldTooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return errs;
}

/** ConfigMap/Secret data keys. */
export function validateDataKeys(data: Record<string, unknown> | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const k of Object.keys(data ?? {})) errs.push(...each(`${path}[${k}]`, k, isConfigMapKey(k)));
  return errs;
}

export interface LabelSelectorObject {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** The object form of a label selector (Deployment.spec.selector, ...). */
export function validateLabelSelector(sel: LabelSelectorObject | undefined | null, path: string): FieldError[] {
  if (!sel) return [];
  const errs: FieldError[] = [...validateLabels(sel.matchLabels, `${path}.matchLabels`)];
  (sel.matchExpressions ?? []).forEach((req, i) => {
    const p = `${path}.matchExpressions[${i}]`;
    const values = req.values ?? [];
    switch (req.operator) {
      case "In":
      case "NotIn":
        if (values.length === 0) errs.push(fieldRequired(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case "Exists":
      case "DoesNotExist":
        if (values.length > 0) errs.push(fieldForbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        errs.push(fieldInvalid(`${p}.operator`, req.operator, "not a valid selector operator"));
    }
    errs.push(...each(`${p}.key`, req.key, isQualifiedName(req.key ?? "")));
    values.forEach((v, j) => errs.push(...each(`${p}.values[${j}]`, v, isValidLabelValue(v))));
  });
  return errs;
}

// ---------------------------------------------------------------------------------------------
// ObjectMeta.

export interface ObjectMetaOptions {
  namespaced: boolean;
  /** The kind's name grammar (a definition's nameValidator); default a DNS-1123 subdomain. */
  nameValidator?: (name: string) => string[];
}

/** generateName is a prefix; upstream drops a trailing '-' before checking it as a name. */
const maskTrailingDash = (s: string) => (s.length > 1 && s.endsWith("-") ? s.slice(0, -1) : s);

export function validateObjectMeta(meta: ObjectMeta | undefined, opts: ObjectMetaOptions): FieldError[] {
  const errs: FieldError[] = [];
  const m = meta ?? {};
  const checkName = opts.nameValidator ?? isDns1123Subdomain;

  if (m.generateName) errs.push(...each("metadata.generateName", m.generateName, checkName(maskTrailingDash(m.generateName))));
  if (!m.name) {
    if (!m.generateName) errs.push(fieldRequired("metadata.name", "name or generateName is required"));
  } else {
    errs.push(...each("metadata.name", m.name, checkName(m.name)));
  }

  if (opts.namespaced) {
    if (!m.namespace) errs.push(fieldRequired("metadata.namespace"));
    else errs.push(...each("metadata.namespace", m.namespace, isDns1123Label(m.namespace)));
  } else if (m.namespace) {
    errs.push(fieldForbidden("metadata.namespace", "not allowed on this type"));
  }

  if (m.generation !== undefined && m.generation < 0)
    errs.push(fieldInvalid("metadata.generation", m.generation, "must be greater than or equal to 0"));

  errs.push(...validateLabels(m.labels, "metadata.labels"));
  errs.push(...validateAnnotations(m.annotations, "metadata.annotations"));
  errs.push(...validateOwnerReferences(m.ownerReferences, "metadata.ownerReferences"));
  errs.push(...validateFinalizers(m.finalizers, "metadata.finalizers"));
  return errs;
}

export function validateOwnerReferences(refs: ObjectMeta["ownerReferences"], path: string): FieldError[] {
  const errs: FieldError[] = [];
  const controllers: string[] = [];
  for (const ref of refs ?? []) {
    // Upstream reports these at the list's path plus the field, without an index.
    if (!ref.apiVersion) errs.push(fieldInvalid(`${path}.apiVersion`, ref.apiVersion ?? "", "version must not be empty"));
    if (!ref.kind) errs.push(fieldInvalid(`${path}.kind`, ref.kind ?? "", "kind must not be empty"));
    if (!ref.name) errs.push(fieldInvalid(`${path}.name`, ref.name ?? "", "name must not be empty"));
    if (!ref.uid) errs.push(fieldInvalid(`${path}.uid`, ref.uid ?? "", "uid must not be empty"));
    if (ref.controller) controllers.push(`${ref.kind}/${ref.name}`);
  }
  if (controllers.length > 1)
    errs.push(
      fieldInvalid(path, refs, `Only one reference can have Controller set to true. Found "true" in references for ${controllers.join(" and ")}`),
    );
  return errs;
}

export function validateFinalizers(finalizers: string[] | undefined, path: string): FieldError[] {
  const errs: FieldError[] = [];
  const list = finalizers ?? [];
  for (const f of list) errs.push(...each(path, f, isQualifiedName(f)));
  if (list.includes("orphan") && list.includes("foregroundDeletion"))
    errs.push(fieldInvalid(path, list, "finalizer orphan and foregroundDeletion cannot be both set"));
  return errs;
}
