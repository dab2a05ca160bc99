// Boolean query parameters (watch, allowWatchBookmarks, exec's stdin/stdout/stderr/tty, logs'
// follow/previous/timestamps, ...), read one way by the API server and the agents alike.
// Clients spell them differently: kubectl and client-go send "true", the Python client
// "True", curl users "1". The accepted spellings are exactly those of Go's strconv.ParseBool;
// anything else is refused with ParseBool's own words rather than guessed at.
import { badRequest } from "./errors";

const TRUE = new Set(["1", "t", "T", "TRUE", "true", "True"]);
const FALSE = new Set(["0", "f", "F", "FALSE", "false", "False"]);

/** strconv.ParseBool: the boolean, or undefined when `raw` is not one of its spellings. */
export function parseBool(raw: string): boolean | undefined {
  if (TRUE.has(raw)) return true;
  if (FALSE.has(raw)) return false;
  return undefined;
}

/** Go's %q, close enough for the message: a quoted string with escapes. */
const quote = (s: string) => JSON.stringify(s);

/**
 * The parameter's value (the first one, as Go's url.Values.Get), `absent` when it is not in the
 * query; a 400 BadRequest Status when it is not a boolean.
 */
export function boolQueryParam(query: URLSearchParams, name: string, absent = false): boolean {
  const raw = query.get(name);
  if (raw === null) return absent;
  const value = parseBool(raw);
  if (value === undefined) throw badRequest(`${name}: Invalid value: ${quote(raw)}: strconv.ParseBool: parsing ${quote(raw)}: invalid syntax`);
  return value;
}
