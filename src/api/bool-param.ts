// Boolean query parameters (watch, allowWatchBookmarks, sendInitialEvents, orphanDependents,
// exec's stdin/stdout/stderr/tty, logs' follow/previous/timestamps, ...), read one way by the
// API server and the agents alike. Clients spell booleans differently: kubectl and client-go
// send "true", the Python client "True", curl users "1" or a bare `?watch`. kube-apiserver and
// the kubelet decode them all with apimachinery's Convert_Slice_string_To_bool, which never
// refuses a value: only "0" and "false" in any case are false, anything else (the empty string
// included) is true. Reading them the same way keeps every client's request meaning what it
// means upstream.

/**
 * Convert_Slice_string_To_bool on one value: false for "0" and for "false" under Go's
 * strings.EqualFold, true for everything else. EqualFold folds by Unicode simple case folding,
 * under which the long s (U+017F) is an "s", so "falſe" is false too; no other non-ASCII
 * character folds to a letter of "false".
 */
export function queryBool(raw: string): boolean {
  return !(raw === "0" || raw.replaceAll("\u017f", "s").toLowerCase() === "false");
}

/**
 * The parameter's value, read from its first occurrence (as Go's url.Values), or `absent` when
 * it is not in the query at all: each caller keeps its own default.
 */
export function boolQueryParam(query: URLSearchParams, name: string, absent = false): boolean {
  const raw = query.get(name);
  return raw === null ? absent : queryBool(raw);
}
