// Label and field selectors: the `?labelSelector=` / `?fieldSelector=` query strings, and the
// object form (matchLabels/matchExpressions) resources embed. The string grammar and the
// canonical rendering follow k8s.io/apimachinery's labels and fields packages, because clients
// build these strings and Scale.status.selector is compared as text by autoscalers.
import { badRequest } from "./errors";
import { isQualifiedName, isValidLabelValue, type LabelSelectorObject } from "./validation";

export type LabelOperator = "=" | "==" | "!=" | "in" | "notin" | "exists" | "!" | "gt" | "lt";

export interface LabelRequirement {
  key: string;
  operator: LabelOperator;
  /** Sorted; one value for =, ==, !=, gt, lt; none for exists and !. */
  values: string[];
}

export interface LabelSelector {
  requirements: LabelRequirement[];
  /** True for the selector that selects nothing (a nil object selector upstream). */
  matchesNothing: boolean;
  matches(labels: Record<string, string> | undefined): boolean;
  /** Canonical form: requirements sorted by key, values sorted (`a=b,c in (x,y),!d`). */
  toString(): string;
  /** Selects everything (no requirements). */
  isEmpty(): boolean;
}

// ---------------------------------------------------------------------------------------------
// Matching and rendering.

function requirementMatches(r: LabelRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, r.key);
  const v = labels[r.key];
  switch (r.operator) {
    case "=":
    case "==":
    case "in":
      return has && r.values.includes(v);
    case "!=":
    case "notin":
      return !has || !r.values.includes(v);
    case "exists":
      return has;
    case "!":
      return !has;
    case "gt":
    case "lt": {
      // Upstream compares as integers and never matches when either side is not one.
      if (!has || !/^-?\d+$/.test(v) || !/^-?\d+$/.test(r.values[0])) return false;
      const [a, b] = [BigInt(v), BigInt(r.values[0])];
      return r.operator === "gt" ? a > b : a < b;
    }
  }
}

function requirementString(r: LabelRequirement): string {
  switch (r.operator) {
    case "exists":
      return r.key;
    case "!":
      return `!${r.key}`;
    case "in":
    case "notin":
      return `${r.key} ${r.operator} (${r.values.join(",")})`;
    case "gt":
      return `${r.key}>${r.values[0]}`;
    case "lt":
      return `${r.key}<${r.values[0]}`;
    default:
      return `${r.key}${r.operator}${r.values[0]}`;
  }
}

function makeSelector(reqs: LabelRequirement[], matchesNothing = false): LabelSelector {
  // Stable sort by key, like upstream's ByKey; values were sorted when each requirement was built.
  const requirements = [...reqs].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return {
    requirements,
    matchesNothing,
    matches: (labels) => !matchesNothing && requirements.every((r) => requirementMatches(r, labels ?? {})),
    toString: () => requirements.map(requirementString).join(","),
    isEmpty: () => !matchesNothing && requirements.length === 0,
  };
}

/** Checks a requirement like upstream's NewRequirement; throws BadRequest. */
function requirement(key: string, operator: LabelOperator, values: string[]): LabelRequirement {
  const keyErrs = isQualifiedName(key);
  if (keyErrs.length) throw badRequest(`unable to parse requirement: key: Invalid value: ${JSON.stringify(key)}: ${keyErrs.join("; ")}`);
  switch (operator) {
    case "in":
    case "notin":
      if (values.length === 0) throw badRequest("unable to parse requirement: values: Invalid value: []: for 'in', 'notin' operators, values set can't be empty");
      break;
    case "=":
    case "==":
    case "!=":
      if (values.length !== 1) throw badRequest("unable to parse requirement: values: Invalid value: exact-match compatibility requires one single value");
      break;
    case "exists":
    case "!":
      if (values.length !== 0) throw badRequest("unable to parse requirement: values: Invalid value: values set must be empty for exists and does not exist");
      break;
    case "gt":
    case "lt":
      if (values.length !== 1 || !/^-?\d+$/.test(values[0]))
        throw badRequest(`unable to parse requirement: values[0]: Invalid value: ${JSON.stringify(values[0] ?? "")}: for 'Gt', 'Lt' operators, the value must be an integer`);
      break;
  }
  if (operator !== "gt" && operator !== "lt") {
    for (const v of values) {
      const errs = isValidLabelValue(v);
      if (errs.length) throw badRequest(`unable to parse requirement: values[0][${key}]: Invalid value: ${JSON.stringify(v)}: ${errs.join("; ")}`);
    }
  }
  return { key, operator, values: [...new Set(values)].sort() };
}

// ---------------------------------------------------------------------------------------------
// The string grammar: a lexer for identifiers and operator symbols, then a recursive-descent
// parser over comma-separated requirements.

type Token =
  | { kind: "id"; text: string }
  | { kind: "op"; text: "=" | "==" | "!=" | "!" | "(" | ")" | "," | ">" | "<" }
  | { kind: "end"; text: "" };

const SPECIAL = new Set(["=", "!", "(", ")", ",", ">", "<"]);

function lex(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i];
    if (/\s/.test(c)) {
      i++;
    } else if (SPECIAL.has(c)) {
      const two = s.slice(i, i + 2);
      if (two === "==" || two === "!=") {
        out.push({ kind: "op", text: two });
        i += 2;
      } else {
        out.push({ kind: "op", text: c as "=" });
        i++;
      }
    } else {
      let j = i;
      while (j < s.length && !SPECIAL.has(s[j]) && !/\s/.test(s[j])) j++;
      out.push({ kind: "id", text: s.slice(i, j) });
      i = j;
    }
  }
  out.push({ kind: "end", text: "" });
  return out;
}

const shown = (t: Token) => (t.kind === "end" ? "end of string" : t.text);

class LabelParser {
  private pos = 0;
  constructor(private readonly toks: Token[]) {}

  private peek(): Token {
    return this.toks[this.pos];
  }
  private next(): Token {
    return this.toks[this.pos++];
  }

  parse(): LabelRequirement[] {
    const reqs: LabelRequirement[] = [];
    if (this.peek().kind === "end") return reqs;
    for (;;) {
      reqs.push(this.requirement());
      const t = this.next();
      if (t.kind === "end") return reqs;
      if (t.text !== ",") throw badRequest(`found '${shown(t)}', expected: ',' or 'end of string'`);
      const after = this.peek();
      if (after.kind === "end" || after.text === ",") throw badRequest(`found '${shown(after)}', expected: identifier after ','`);
    }
  }

  private requirement(): LabelRequirement {
    let t = this.next();
    if (t.text === "!" && t.kind === "op") {
      t = this.next();
      if (t.kind !== "id") throw badRequest(`found '${shown(t)}', expected: identifier after '!'`);
      return requirement(t.text, "!", []);
    }
    if (t.kind !== "id") throw badRequest(`found '${shown(t)}', expected: !, identifier`);
    const key = t.text;
    const op = this.peek();
    if (op.kind === "end" || op.text === ",") return requirement(key, "exists", []);
    this.next();
    if (op.kind === "id" && (op.text === "in" || op.text === "notin")) return requirement(key, op.text, this.valueSet());
    switch (op.text) {
      case "=":
      case "==":
      case "!=":
        return requirement(key, op.text, [this.exactValue()]);
      case ">":
        return requirement(key, "gt", [this.exactValue()]);
      case "<":
        return requirement(key, "lt", [this.exactValue()]);
    }
    throw badRequest(`found '${shown(op)}', expected: in, notin, =, ==, !=, gt, lt`);
  }

  /** The value after =, ==, !=; may be empty (`tier=` selects tier==""). */
  private exactValue(): string {
    const t = this.peek();
    if (t.kind === "end" || t.text === ",") return "";
    this.next();
    if (t.kind === "id") return t.text;
    throw badRequest(`found '${shown(t)}', expected: identifier`);
  }

  /** `(a, b, c)`; empty members between commas are the empty string, as upstream. */
  private valueSet(): string[] {
    const open = this.next();
    if (open.text !== "(") throw badRequest(`found '${shown(open)}', expected: '('`);
    const values: string[] = [];
    if (this.peek().text === ")" && this.peek().kind === "op") {
      this.next();
      return values;
    }
    let expectValue = true;
    for (;;) {
      const t = this.next();
      if (t.kind === "id") {
        if (!expectValue) throw badRequest(`found '${shown(t)}', expected: ',' or ')'`);
        values.push(t.text);
        expectValue = false;
      } else if (t.text === ",") {
        if (expectValue) values.push("");
        expectValue = true;
      } else if (t.text === ")") {
        if (expectValue) values.push("");
        return values;
      } else {
        throw badRequest(`found '${shown(t)}', expected: ',', ')' or identifier`);
      }
    }
  }
}

/** Parses `?labelSelector=`; an empty string selects everything. Throws BadRequest. */
export function parseLabelSelector(s: string): LabelSelector {
  return makeSelector(new LabelParser(lex(s)).parse());
}

/**
 * The object form as a selector. Like upstream's LabelSelectorAsSelector: a missing selector
 * selects nothing, an empty one everything. Invalid operators throw BadRequest.
 */
export function labelSelectorFromObject(obj: LabelSelectorObject | null | undefined): LabelSelector {
  if (!obj) return makeSelector([], true);
  const reqs: LabelRequirement[] = [];
  for (const [k, v] of Object.entries(obj.matchLabels ?? {})) reqs.push(requirement(k, "=", [v]));
  for (const e of obj.matchExpressions ?? []) {
    const op = ({ In: "in", NotIn: "notin", Exists: "exists", DoesNotExist: "!" } as const)[e.operator as "In"];
    if (!op) throw badRequest(`${JSON.stringify(e.operator)} is not a valid label selector operator`);
    reqs.push(requirement(e.key, op, e.values ?? []));
  }
  return makeSelector(reqs);
}

/** Canonical string of the object form, as Scale.status.selector carries it. */
export const labelSelectorString = (obj: LabelSelectorObject | null | undefined): string => labelSelectorFromObject(obj).toString();

// ---------------------------------------------------------------------------------------------
// Field selectors: `a=b`, `a==b`, `a!=b`, comma-separated; `\` escapes `\`, `,` and `=`.

export interface FieldRequirement {
  field: string;
  operator: "=" | "==" | "!=";
  value: string;
}

export type FieldGetter = (field: string) => string | undefined;

export interface FieldSelector {
  requirements: FieldRequirement[];
  /** A missing field counts as "" (upstream's fields.Set), so `spec.nodeName=` finds unbound pods. */
  matches(get: FieldGetter): boolean;
  /** The value a field must equal, if the selector pins it (for index lookups). */
  exactMatch(field: string): string | undefined;
  toString(): string;
  isEmpty(): boolean;
}

/** Splits on commas not preceded by a backslash escape. */
function splitTerms(s: string): string[] {
  const terms: string[] = [];
  let cur = "";
  for (let i = 0; i < s.length; i++) {
    if (s[i] === "\\" && i + 1 < s.length) {
      cur += s[i] + s[i + 1];
      i++;
    } else if (s[i] === ",") {
      terms.push(cur);
      cur = "";
    } else {
      cur += s[i];
    }
  }
  terms.push(cur);
  return terms;
}

function unescape(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    if (s[i] !== "\\") {
      out += s[i];
      continue;
    }
    const n = s[i + 1];
    if (n !== "\\" && n !== "," && n !== "=") throw badRequest(`invalid field selector: invalid escape sequence: \\${n ?? ""}`);
    out += n;
    i++;
  }
  return out;
}

const escapeValue = (s: string) => s.replace(/\\/g, "\\\\").replace(/,/g, "\\,").replace(/=/g, "\\=");

/** Finds the first unescaped operator; `!=` and `==` win over `=` at the same position. */
function splitTerm(term: string): FieldRequirement | undefined {
  for (let i = 0; i < term.length; i++) {
    if (term[i] === "\\") {
      i++;
      continue;
    }
    for (const op of ["!=", "==", "="] as const) {
      if (term.startsWith(op, i)) return { field: term.slice(0, i), operator: op, value: term.slice(i + op.length) };
    }
  }
  return undefined;
}

/** Parses `?fieldSelector=`; an empty string selects everything. Throws BadRequest. */
export function parseFieldSelector(s: string): FieldSelector {
  const requirements: FieldRequirement[] = [];
  if (s.trim() !== "") {
    for (const term of splitTerms(s)) {
      if (term === "") continue; // upstream skips empty terms ("a=b,")
      const r = splitTerm(term);
      if (!r) throw badRequest(`invalid selector: '${s}'; can't understand '${term}'`);
      requirements.push({ field: unescape(r.field).trim(), operator: r.operator, value: unescape(r.value) });
    }
  }
  return {
    requirements,
    matches: (get) =>
      requirements.every((r) => {
        const v = get(r.field) ?? "";
        return r.operator === "!=" ? v !== r.value : v === r.value;
      }),
    exactMatch: (field) => requirements.find((r) => r.field === field && r.operator !== "!=")?.value,
    toString: () => requirements.map((r) => `${r.field}${r.operator}${escapeValue(r.value)}`).join(","),
    isEmpty: () => requirements.length === 0,
  };
}

/** Rejects fields a resource cannot be filtered on, with upstream's message. */
export function checkFieldSelectorFields(sel: FieldSelector, supported: Iterable<string>): void {
  const ok = new Set(supported);
  for (const r of sel.requirements) if (!ok.has(r.field)) throw badRequest(`field label not supported: ${r.field}`);
}
