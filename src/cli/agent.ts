// `bramble agent`: flags → AgentConfig → startAgent(cfg). Nothing else happens here.
import { hostname } from "node:os";
import { isQualifiedName, isValidLabelValue } from "../api/validation";
import type { AgentConfig } from "../agent/agent";
import { CA_HASH_PATTERN } from "../agent/join/pin";
import { parseJoinToken } from "../api/join-token";
import { parseFlags } from "./argv";
import { DEFAULT_KUBELET_PORT } from "../api/kubelet-api";
import { FlagError, ipv4, nodeName as nodeNameFlag, nonNegativeInt, stringFlag, writableDir } from "./flags";
import { defaultDataDir, hostFacts, type HostFacts } from "./host";
import { IMAGE_GC_AND_LOG_FLAGS, kubeletTuningFromFlags } from "./kubelet-flags";
import { INGRESS_FLAGS, ingressPortsFromFlags } from "./ingress-flags";
import { EVICTION_FLAGS, evictionConfigFromFlags } from "./eviction-flags";
import type { FlagSpec } from "./server";

export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";

export const AGENT_FLAGS: FlagSpec[] = [
  { name: "server", value: "<url>", description: "API server to join, https://HOST:6443 (not needed once joined)" },
  { name: "token", value: "<token>", description: "Bootstrap token from `bramble token create`, or the server token (<data-dir>/server/token on the server, K10...); not needed once joined" },
  { name: "ca-cert-hash", value: "sha256:<hex>", description: "Pin of the cluster CA's public key, as printed with the join command (carried inside a K10... server token)" },
  { name: "node-name", value: "<name>", description: "Node name (default: the hostname)" },
  { name: "node-ip", value: "<ip>", description: "The node's InternalIP (default: the first non-loopback IPv4)" },
  { name: "node-label", value: "<k=v>", description: "A label for the node; repeatable" },
  { name: "data-dir", value: "<path>", description: "Folder for state (default: /var/lib/bramble as root, ~/.bramble otherwise)" },
  { name: "docker-socket", value: "<path>", description: `The Docker engine's socket (default: ${DEFAULT_DOCKER_SOCKET})` },
  { name: "kubelet-port", value: "<port>", description: `HTTPS port for logs and exec, called by the API server only (default: ${DEFAULT_KUBELET_PORT}; 0: any free port)` },
  ...IMAGE_GC_AND_LOG_FLAGS,
  ...INGRESS_FLAGS,
  ...EVICTION_FLAGS,
];

function label(text: string): [string, string] {
  const eq = text.indexOf("=");
  const [k, v] = eq < 0 ? [text, ""] : [text.slice(0, eq), text.slice(eq + 1)];
  const problem = eq < 0 ? "missing '='" : [...isQualifiedName(k), ...isValidLabelValue(v)][0];
  if (problem) throw new FlagError("node-label", `"${text}" is not a valid label (key=value): ${problem}`);
  return [k, v];
}

/** --node-label may repeat (and take k=v,k2=v2); the rest go through the usual one-value parser. */
function splitRepeated(args: readonly string[], flag: string): { values: string[]; rest: string[] } {
  const values: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const m = new RegExp(`^--?${flag}(?:=(.*))?$`, "s").exec(args[i]!);
    if (!m) {
      rest.push(args[i]!);
      continue;
    }
    const value = m[1] ?? args[++i];
    if (value === undefined || (m[1] === undefined && value.startsWith("--"))) throw new FlagError(flag, "a value is required");
    values.push(...value.split(",").filter(Boolean));
  }
  return { values, rest };
}

export function agentConfigFromArgs(args: readonly string[], host: HostFacts, hostName: string): AgentConfig {
  const { values: labelTexts, rest } = splitRepeated(args, "node-label");
  const raw = parseFlags(rest, AGENT_FLAGS.filter((f) => f.name !== "node-label"));
  const text = (f: string) => stringFlag(raw, f);
  const server = text("server");
  if (server !== undefined) {
    let url: URL | undefined;
    try {
      url = new URL(server);
    } catch {}
    if (!url || url.protocol !== "https:" || url.pathname !== "/" || url.search) throw new FlagError("server", `"${server}" is not an https://HOST:PORT URL`);
  }
  const token = text("token");
  const parsedToken = token === undefined ? undefined : parseJoinToken(token);
  if (token !== undefined && (!parsedToken || !/^[\x21-\x7e]+$/.test(token))) {
    throw new FlagError("token", "is neither a bootstrap token ([a-z0-9]{6}.[a-z0-9]{16}, from `bramble token create`) nor the server token (K10<64 hex digits>::server:<secret>, in <data-dir>/server/token on the server)");
  }
  const caCertHash = text("ca-cert-hash");
  if (caCertHash !== undefined && !CA_HASH_PATTERN.test(caCertHash.toLowerCase())) throw new FlagError("ca-cert-hash", `"${caCertHash}" is not sha256:<64 hex digits>`);
  if (caCertHash !== undefined && parsedToken?.caCertHash && parsedToken.caCertHash !== caCertHash.toLowerCase()) {
    throw new FlagError("ca-cert-hash", `"${caCertHash}" is not the CA hash inside --token (${parsedToken.caCertHash})`);
  }
  const nodeName = nodeNameFlag("node-name", text("node-name"), hostName);
  const ipText = text("node-ip");
  const nodeIp = ipText !== undefined ? ipv4("node-ip", ipText, { allowUnspecified: false }) : host.ipv4Addresses[0];
  if (!nodeIp) throw new FlagError("node-ip", "no non-loopback IPv4 address found on this machine; give one");
  const dockerSocket = text("docker-socket") ?? DEFAULT_DOCKER_SOCKET;
  if (!dockerSocket) throw new FlagError("docker-socket", "a path is required");
  const kubeletPortText = text("kubelet-port");
  const kubeletPort = kubeletPortText === undefined ? DEFAULT_KUBELET_PORT : nonNegativeInt("kubelet-port", kubeletPortText);
  if (kubeletPort > 65535) throw new FlagError("kubelet-port", `${kubeletPort} is not a port (0-65535)`);
  return {
    nodeName,
    nodeIp,
    kubeletPort,
    labels: Object.fromEntries(labelTexts.map(label)),
    dataDir: writableDir("data-dir", text("data-dir") ?? defaultDataDir(host)),
    dockerSocket,
    eviction: evictionConfigFromFlags(raw),
    connection: { kind: "join", server, token, caCertHash },
    ingress: ingressPortsFromFlags(raw),
    ...kubeletTuningFromFlags(raw),
  };
}

/** Runs until SIGTERM/SIGINT, then stops heartbeats and the kubelet (pods keep running) and exits 0. */
export async function runAgent(args: readonly string[]): Promise<void> {
  const cfg = agentConfigFromArgs(args, hostFacts(), hostname());
  const { startAgent } = await import("../agent/agent");
  const agent = await startAgent(cfg);
  const shutdown = () => agent.stop().then(() => process.exit(0), () => process.exit(1));
  process.once("SIGTERM", shutdown);
  process.once("SIGINT", shutdown);
}
