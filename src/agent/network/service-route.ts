// The Service range must never leave the node: a packet for a ClusterIP that no iptables rule
// rewrote (a Service without rules yet, a typo'd IP) would otherwise follow the default route
// off the machine. So the main table gets `unreachable <serviceCidr>`, and pods get an ICMP
// error at once.
//
// That route would also break connections the node itself opens to a ClusterIP: a local
// socket's route lookup happens at connect(), before the OUTPUT chain's DNAT, and fails with
// "No route to host". So locally generated packets (`iif lo` matches those) for the Service
// range look in a table of their own, where the range is routed to `lo`: connect() succeeds,
// the OUTPUT DNAT then rewrites the destination and the kernel routes the packet again towards
// the endpoint. A packet no rule rewrote loops back on lo and is dropped there.
import type { CommandRunner } from "../host/run";
import { mustRun } from "../host/run";
import { HOST_SERVICE_RULE_PRIORITY, HOST_SERVICE_TABLE, ROUTE_PROTO } from "./names";
import { parseRouteJson, type RouteEntry } from "./routes";

const P = String(ROUTE_PROTO);
const T = String(HOST_SERVICE_TABLE);
const PRIO = String(HOST_SERVICE_RULE_PRIORITY);

/**
 * `src` is the node's own address: without it the kernel may pick 127.0.0.1 for a route via lo
 * (it does once route_localnet is on, which the Service proxy turns on for 127.0.0.1 NodePorts),
 * and a connection DNATed to a pod on another node would leave with a loopback source no reply
 * can reach.
 */
export function serviceRouteCommands(serviceCidr: string, src?: string): string[][] {
  return [
    ["ip", "-4", "route", "replace", "unreachable", serviceCidr, "proto", P],
    ["ip", "-4", "route", "replace", serviceCidr, "dev", "lo", "table", T, "proto", P, ...(src ? ["src", src] : [])],
  ];
}

interface RuleEntry {
  priority?: number;
  dst?: string;
  dstlen?: number;
  iif?: string;
  table?: string;
}

/** Whether `ip -j rule show` already has bramble's rule for this range. */
export function hasHostServiceRule(rulesJson: string, serviceCidr: string): boolean {
  const rules = (rulesJson.trim() ? JSON.parse(rulesJson) : []) as RuleEntry[];
  const [dst, len] = serviceCidr.split("/");
  return rules.some((r) => r.priority === HOST_SERVICE_RULE_PRIORITY && r.dst === dst && r.dstlen === Number(len) && r.iif === "lo" && r.table === T);
}

/**
 * bramble's routes for the Service range: exactly `serviceCidr` (a changed range replaces the
 * old routes and rule). Idempotent.
 */
export async function ensureServiceRoutes(run: CommandRunner, serviceCidr: string, src?: string): Promise<void> {
  const stale = (await listServiceRoutes(run)).filter((r) => r.dst !== serviceCidr);
  if (stale.length) await removeServiceRoutes(run);
  for (const argv of serviceRouteCommands(serviceCidr, src)) await mustRun(run, argv);
  if (!hasHostServiceRule(await mustRun(run, ["ip", "-j", "-4", "rule", "show"]), serviceCidr)) {
    await mustRun(run, ["ip", "-4", "rule", "add", "to", serviceCidr, "iif", "lo", "lookup", T, "priority", PRIO]);
  }
}

/** bramble's unreachable routes in main plus the routes in its own table. */
async function listServiceRoutes(run: CommandRunner): Promise<RouteEntry[]> {
  const main = parseRouteJson(await mustRun(run, ["ip", "-j", "-4", "route", "show", "table", "main", "proto", P]));
  return main.filter((r) => r.type === "unreachable");
}

/** Removes the unreachable routes, bramble's routes in its table and its rules; returns how many things went. */
export async function removeServiceRoutes(run: CommandRunner): Promise<number> {
  let removed = 0;
  for (const r of await listServiceRoutes(run)) {
    if ((await run(["ip", "-4", "route", "del", "unreachable", r.dst, "proto", P])).code === 0) removed++;
  }
  // Only bramble's routes in its table (proto 98): a route someone else put in table 98 stays.
  // A table that never existed makes ip print "[" and fail: nothing to flush then.
  const shown = await run(["ip", "-j", "-4", "route", "show", "table", T, "proto", P]);
  const table = shown.code === 0 ? parseRouteJson(shown.stdout) : [];
  if (table.length && (await run(["ip", "-4", "route", "flush", "table", T, "proto", P])).code === 0) removed += table.length;
  // `ip rule del priority N` deletes one rule per call; stop when none is left (or after a bound).
  for (let i = 0; i < 16; i++) {
    if ((await run(["ip", "-4", "rule", "del", "priority", PRIO, "lookup", T])).code !== 0) break;
    removed++;
  }
  return removed;
}
