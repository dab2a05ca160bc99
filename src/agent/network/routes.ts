// Routes bramble owns in the main table, all tagged `proto 98` (names.ts): reading them back,
// planning the difference to what is wanted (pure), and applying it with `ip route`.
import type { CommandRunner } from "../host/run";
import { mustRun } from "../host/run";
import { ROUTE_PROTO } from "./names";

/** One route as `ip -j route` reports it (the fields bramble looks at). */
export interface RouteEntry {
  dst: string;
  gateway?: string;
  dev?: string;
  /** Absent for ordinary (unicast) routes; "unreachable", "blackhole", ... otherwise. */
  type?: string;
}

/** A route to another node's podCIDR through its address (host-gw). */
export interface PeerRoute {
  dst: string;
  via: string;
}

export interface RoutePlan {
  /** `ip route replace` each (new, or its next hop changed). */
  replace: PeerRoute[];
  /** `ip route del` each (its node left or changed podCIDR). */
  remove: RouteEntry[];
}

const isUnicast = (r: RouteEntry) => r.type === undefined || r.type === "unicast";

/**
 * What to change so bramble's gateway routes are exactly `desired`. Only unicast routes with a
 * gateway are peer routes; bramble's other routes (the unreachable Service range) are left
 * alone. A route already right is not touched, so a resync with no change runs no command.
 */
export function planPeerRoutes(current: RouteEntry[], desired: PeerRoute[]): RoutePlan {
  const have = new Map(current.filter((r) => isUnicast(r) && r.gateway).map((r) => [r.dst, r]));
  const want = new Map(desired.map((r) => [r.dst, r]));
  const replace = desired.filter((r) => have.get(r.dst)?.gateway !== r.via);
  const remove = [...have.values()].filter((r) => !want.has(r.dst));
  return { replace, remove };
}

/** Parses `ip -j route show` output (an empty table may print nothing at all). */
export function parseRouteJson(text: string): RouteEntry[] {
  const trimmed = text.trim();
  if (!trimmed) return [];
  const rows = JSON.parse(trimmed) as Array<Record<string, unknown>>;
  return rows.map((r) => ({
    // iproute2 prints the default route as "default"; host routes without a prefix length.
    dst: String(r.dst),
    ...(typeof r.gateway === "string" ? { gateway: r.gateway } : {}),
    ...(typeof r.dev === "string" ? { dev: r.dev } : {}),
    ...(typeof r.type === "string" && r.type !== "unicast" ? { type: r.type } : {}),
  }));
}

/** bramble's routes in the main table. */
export async function listOwnRoutes(run: CommandRunner): Promise<RouteEntry[]> {
  return parseRouteJson(await mustRun(run, ["ip", "-j", "-4", "route", "show", "table", "main", "proto", String(ROUTE_PROTO)]));
}

/** A line of `ip -batch` (the same words as `ip <line>`). */
export const replaceRouteLine = (r: PeerRoute) => `route replace ${r.dst} via ${r.via} proto ${ROUTE_PROTO}`;
export const deleteRouteLine = (r: RouteEntry) => `route del ${r.type ? `${r.type} ` : ""}${r.dst} proto ${ROUTE_PROTO}`;

/**
 * Which lines of an `ip -force -batch` failed, and why: iproute2 prints the kernel's message,
 * then "Command failed -:<line>" (1-based), and goes on with the next line.
 */
export function parseBatchFailures(stderr: string): Map<number, string> {
  const failures = new Map<number, string>();
  let message: string[] = [];
  for (const line of stderr.split("\n")) {
    const m = /^Command failed -:(\d+)$/.exec(line.trim());
    if (m) {
      failures.set(Number(m[1]), message.join(" ").trim());
      message = [];
    } else if (line.trim()) message.push(line.trim());
  }
  return failures;
}

export interface RouteSyncResult {
  replaced: PeerRoute[];
  removed: RouteEntry[];
  /** Routes the kernel refused, e.g. a next hop not on a directly connected network. */
  failed: Array<{ route: PeerRoute | RouteEntry; error: string }>;
}

/**
 * Makes bramble's peer routes exactly `desired`: one read, then all changes in one
 * `ip -force -batch` (one exec for a whole cluster; a refused route does not stop the others).
 */
export async function syncPeerRoutes(run: CommandRunner, desired: PeerRoute[]): Promise<RouteSyncResult> {
  const plan = planPeerRoutes(await listOwnRoutes(run), desired);
  const result: RouteSyncResult = { replaced: [], removed: [], failed: [] };
  const steps: Array<{ line: string; route: PeerRoute | RouteEntry; done: () => void }> = [
    ...plan.remove.map((r) => ({ line: deleteRouteLine(r), route: r, done: () => result.removed.push(r) })),
    ...plan.replace.map((r) => ({ line: replaceRouteLine(r), route: r, done: () => result.replaced.push(r) })),
  ];
  if (!steps.length) return result;
  const out = await run(["ip", "-force", "-batch", "-"], steps.map((s) => s.line).join("\n") + "\n");
  const failures = parseBatchFailures(out.stderr);
  if (out.code !== 0 && failures.size === 0) throw new Error(`ip -batch failed (exit ${out.code}): ${out.stderr.trim()}`);
  steps.forEach((s, i) => {
    const error = failures.get(i + 1);
    if (error === undefined) s.done();
    else result.failed.push({ route: s.route, error });
  });
  return result;
}
