// `bramble reset` for the pod network: bramble's routes (found by their proto), the Service
// range's rule and table, the iptables chains and the jumps to them. The Docker network goes
// with the other io.bramble.managed networks in agent/reset.ts (dockerSocket is accepted so a
// caller resetting only the network can say where the engine is; unused today).
import { runCommand, type CommandRunner } from "../host/run";
import { removePodNetRules } from "./iptables";
import { ROUTE_PROTO } from "./names";
import { listOwnRoutes } from "./routes";
import { removeServiceRoutes } from "./service-route";

export async function resetPodNetwork(opts: { run?: CommandRunner; dockerSocket?: string } = {}): Promise<string> {
  const run = opts.run ?? runCommand;
  const problems: string[] = [];
  const attempt = async <T>(what: string, f: () => Promise<T>, fallback: T): Promise<T> => {
    try {
      return await f();
    } catch (e) {
      problems.push(`${what}: ${(e as Error).message}`);
      return fallback;
    }
  };
  const serviceRoutes = await attempt("service routes", () => removeServiceRoutes(run), 0);
  const routes = await attempt("routes", async () => {
    const peers = (await listOwnRoutes(run)).length;
    if (peers) await mustFlush(run);
    return peers;
  }, 0);
  const chains = await attempt("iptables", () => removePodNetRules(run), 0);
  const summary = `pod network: removed ${routes} routes, ${serviceRoutes} service-range routes/rules, ${chains} iptables chains`;
  return problems.length ? `${summary}; failed: ${problems.join("; ")}` : summary;
}

async function mustFlush(run: CommandRunner) {
  const r = await run(["ip", "-4", "route", "flush", "table", "main", "proto", String(ROUTE_PROTO)]);
  if (r.code !== 0) throw new Error(r.stderr.trim());
}
