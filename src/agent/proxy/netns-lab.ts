// A throw-away network for the proxy's real-kernel tests and benchmark (root only): three
// network namespaces, nothing in the host's own namespace, so parallel runs and other helpers'
// tests never see each other.
//
//   client (192.168.200.2) ──veth── node (192.168.200.1 | 10.42.5.1) ──veth── endpoint (10.42.5.10)
//
// "node" is where the proxy's rules go; "endpoint" plays a pod on the node's pod network (it
// serves HTTP with busybox httpd); "client" is a host outside the cluster (NodePort traffic).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inNetns, mustRun, runCommand, type CommandRunner } from "../host/run";
import { missingCommand, notRoot } from "../../machinery/test-requirements";

export const LAB = {
  nodeOutside: "192.168.200.1",
  client: "192.168.200.2",
  nodePod: "10.42.5.1",
  endpoint: "10.42.5.10",
  /** A second address on the endpoint namespace: a second "pod". */
  endpoint2: "10.42.5.11",
  clusterCidr: "10.42.0.0/16",
  serviceCidr: "10.43.0.0/16",
} as const;

export interface NetnsLab {
  node: string;
  endpoint: string;
  client: string;
  /** Runs commands in the node namespace (hand it to the proxy). */
  runNode: CommandRunner;
  runIn(ns: string): CommandRunner;
  /** busybox httpd on the endpoint, answering `body` on every port given (all its addresses). */
  serve(ports: number[], body: string): Promise<void>;
  /** busybox httpd on one address of the endpoint namespace. */
  serveAt(ip: string, port: number, body: string): Promise<void>;
  /** An HTTP GET from a namespace with curl: the body, or "ERR <curl exit code>". */
  get(ns: string, url: string, timeoutS?: number): Promise<string>;
  destroy(): Promise<void>;
}

export const canRunNetnsLab = () => netnsLabMissing() === undefined;

/** Why a netns lab cannot be made here (for requirements()), or undefined. */
export const netnsLabMissing = (): string | undefined =>
  notRoot("network namespaces, iptables") ?? missingCommand("ip") ?? missingCommand("iptables-restore") ?? missingCommand("nsenter");

export async function createNetnsLab(prefix: string, opts: { endpointAndClient?: boolean } = {}): Promise<NetnsLab> {
  const id = `${prefix}-${Math.random().toString(36).slice(2, 7)}`;
  const node = `${id}-n`;
  const endpoint = `${id}-e`;
  const client = `${id}-c`;
  const made: string[] = [];
  const procs: ReturnType<typeof Bun.spawn>[] = [];
  const www = mkdtempSync(join(tmpdir(), `${id}-www-`));
  const sh = (argv: string[]) => mustRun(runCommand, argv);
  const destroy = async () => {
    for (const p of procs) p.kill();
    await Promise.all(procs.map((p) => p.exited));
    // Deleting a namespace deletes its veths (and their peers), routes and iptables rules.
    for (const ns of made) await runCommand(["ip", "netns", "del", ns]);
    rmSync(www, { recursive: true, force: true });
  };
  try {
    for (const ns of opts.endpointAndClient === false ? [node] : [node, endpoint, client]) {
      await sh(["ip", "netns", "add", ns]);
      made.push(ns);
      await sh(["ip", "-n", ns, "link", "set", "lo", "up"]);
    }
    if (opts.endpointAndClient !== false) {
      await sh(["ip", "-n", node, "link", "add", "pod0", "type", "veth", "peer", "name", "eth0", "netns", endpoint]);
      await sh(["ip", "-n", node, "link", "add", "ext0", "type", "veth", "peer", "name", "eth0", "netns", client]);
      await sh(["ip", "-n", node, "addr", "add", `${LAB.nodePod}/24`, "dev", "pod0"]);
      await sh(["ip", "-n", node, "addr", "add", `${LAB.nodeOutside}/24`, "dev", "ext0"]);
      await sh(["ip", "-n", endpoint, "addr", "add", `${LAB.endpoint}/24`, "dev", "eth0"]);
      await sh(["ip", "-n", endpoint, "addr", "add", `${LAB.endpoint2}/24`, "dev", "eth0"]);
      await sh(["ip", "-n", client, "addr", "add", `${LAB.client}/24`, "dev", "eth0"]);
      for (const [ns, dev] of [[node, "pod0"], [node, "ext0"], [endpoint, "eth0"], [client, "eth0"]] as const) await sh(["ip", "-n", ns, "link", "set", dev, "up"]);
      await sh(["ip", "-n", endpoint, "route", "add", "default", "via", LAB.nodePod]);
      // The client knows the cluster's ranges are behind the node (as a router would).
      await sh(["ip", "-n", client, "route", "add", "10.42.0.0/15", "via", LAB.nodeOutside]);
      // The node's default route points at the client: nothing ever leaves the lab.
      await sh(["ip", "-n", node, "route", "add", "default", "via", LAB.client]);
      await sh(["nsenter", `--net=/var/run/netns/${node}`, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    }
  } catch (e) {
    await destroy();
    throw e;
  }
  const runIn = (ns: string) => inNetns(ns);
  const get = async (ns: string, url: string, timeoutS = 3) => {
    const r = await inNetns(ns)(["curl", "-sS", "--max-time", String(timeoutS), url]);
    return r.code === 0 ? r.stdout : `ERR ${r.code}`;
  };
  let sites = 0;
  const startHttpd = async (port: number, ip: string | undefined, body: string) => {
    const dir = join(www, String(sites++));
    mkdirSync(dir);
    writeFileSync(join(dir, "index.html"), body);
    procs.push(Bun.spawn(["nsenter", `--net=/var/run/netns/${endpoint}`, "/bin/busybox", "httpd", "-f", "-p", ip ? `${ip}:${port}` : String(port), "-h", dir], { stdout: "ignore", stderr: "ignore" }));
    // Ready when it answers from its own namespace.
    for (let i = 0; i < 50; i++) {
      if (!(await get(endpoint, `http://${ip ?? LAB.endpoint}:${port}/`, 1)).startsWith("ERR")) return;
      await Bun.sleep(50);
    }
    throw new Error(`httpd on ${ip ?? "*"}:${port} did not answer`);
  };
  return {
    node,
    endpoint,
    client,
    runNode: runIn(node),
    runIn,
    serve: (ports, body) => Promise.all(ports.map((port) => startHttpd(port, undefined, body))).then(() => undefined),
    serveAt: (ip, port, body) => startHttpd(port, ip, body),
    get,
    destroy,
  };
}
