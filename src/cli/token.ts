// `bramble token create|list|delete`: bootstrap tokens for joining nodes, kept as Secrets in
// kube-system through the API (so they need the admin kubeconfig, not access to the server's
// disk). Like kubeadm's `token` commands.
import { ApiError } from "../api/errors";
import type { Secret } from "../api/resources/core/secret";
import { secrets } from "../client/refs";
import { KubeClient } from "../client/client";
import { readKubeconfig, resolveContext } from "../client/kubeconfig";
import { caCertHashOfPem } from "../agent/join/pin";
import {
  BOOTSTRAP_TOKEN_NAMESPACE,
  BOOTSTRAP_TOKEN_SECRET_TYPE,
  formatToken,
  generateToken,
  tokenInfo,
  tokenSecret,
  tokenSecretName,
  type TokenInfo,
} from "../server/auth/bootstrap-token";
import { parseFlags } from "./argv";
import { boolFlag, durationSeconds, FlagError, stringFlag, type RawFlags } from "./flags";
import { defaultClientKubeconfig } from "./kubeconfig-default";
import type { FlagSpec } from "./server";

const KUBECONFIG_FLAG: FlagSpec = { name: "kubeconfig", value: "<path>", description: "Admin kubeconfig (default: $KUBECONFIG, ~/.kube/config, then /var/lib/bramble/server/admin.kubeconfig)" };

export const TOKEN_FLAGS: Record<"create" | "list" | "delete", FlagSpec[]> = {
  create: [
    { name: "ttl", value: "<duration>", description: "How long the token is valid, e.g. 24h, 30m; 0 never expires (default: 24h)" },
    { name: "description", value: "<text>", description: "A note shown by `token list`" },
    { name: "print-join-command", description: "Print the whole `bramble agent ...` command instead of just the token" },
    KUBECONFIG_FLAG,
  ],
  list: [KUBECONFIG_FLAG],
  delete: [KUBECONFIG_FLAG],
};

export const DEFAULT_TTL_SECONDS = 24 * 3600;

export interface TokenCommand {
  action: "create" | "list" | "delete";
  kubeconfig: string;
  ttlSeconds: number;
  description?: string;
  printJoinCommand: boolean;
  /** For delete: the token id (or the whole token). */
  id?: string;
}

export function tokenCommandFromArgs(args: readonly string[], env: Record<string, string | undefined>, homeDir: string): TokenCommand {
  const [action, ...rest] = args;
  if (action !== "create" && action !== "list" && action !== "delete") {
    throw new Error(action === undefined ? "token: a subcommand is required: create, list or delete" : `token: unknown subcommand "${action}" (create, list or delete)`);
  }
  let id: string | undefined;
  let flagArgs = rest;
  if (action === "delete") {
    // The one argument that is neither a flag nor the value of --kubeconfig.
    const pos = rest.findIndex((a, j) => !a.startsWith("-") && !(j > 0 && /^--?kubeconfig$/.test(rest[j - 1]!)));
    if (pos < 0) throw new Error("token delete: the token id to delete is required");
    id = rest[pos]!;
    flagArgs = rest.filter((_, j) => j !== pos);
    if (!/^[a-z0-9]{6}(\.[a-z0-9]{16})?$/.test(id)) throw new Error(`token delete: "${id}" is not a token id ([a-z0-9]{6}) or token`);
    id = id.slice(0, 6);
  }
  const raw: RawFlags = parseFlags(flagArgs, TOKEN_FLAGS[action]);
  const ttlText = stringFlag(raw, "ttl");
  const description = stringFlag(raw, "description");
  if (description !== undefined && /[\r\n]/.test(description)) throw new FlagError("description", "must be one line");
  const kubeconfig = stringFlag(raw, "kubeconfig") ?? defaultClientKubeconfig(env, homeDir);
  return {
    action,
    kubeconfig,
    ttlSeconds: ttlText === undefined ? DEFAULT_TTL_SECONDS : durationSeconds("ttl", ttlText),
    description,
    printJoinCommand: boolFlag(raw, "print-join-command"),
    id,
  };
}

function clientFor(path: string): { client: KubeClient; server: string; caPem?: string } {
  let creds;
  try {
    creds = resolveContext(readKubeconfig(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FlagError("kubeconfig", `cannot use "${path}": ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message}`);
  }
  return { client: new KubeClient(creds), server: creds.server, caPem: creds.caCertPem };
}

/** kubeadm's TTL column: the time left, whole units, "<forever>" or "<invalid>" once expired. */
export function ttlText(info: TokenInfo, now: Date): string {
  if (!info.expires) return "<forever>";
  const s = Math.floor((info.expires.getTime() - now.getTime()) / 1000);
  if (s <= 0) return "<invalid>";
  if (s >= 3600) return `${Math.floor(s / 3600)}h`;
  if (s >= 60) return `${Math.floor(s / 60)}m`;
  return `${s}s`;
}

export function formatTokenTable(infos: TokenInfo[], now: Date): string {
  const rows = [["ID", "TTL", "EXPIRES", "USAGES", "DESCRIPTION"]];
  for (const i of infos) {
    const expires = i.expires ? i.expires.toISOString().replace(/\.\d{3}Z$/, "Z") : "<never>";
    rows.push([i.id, ttlText(i, now), expires, i.usages.join(",") || "<none>", i.description || "<none>"]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join("").trimEnd()).join("\n") + "\n";
}

export async function runToken(args: readonly string[]): Promise<void> {
  const { homedir } = await import("node:os");
  const cmd = tokenCommandFromArgs(args, process.env, homedir());
  const { client, server, caPem } = clientFor(cmd.kubeconfig);
  const api = client.resource<Secret>(secrets);
  try {
    if (cmd.action === "create") {
      const token = generateToken();
      await api.create(BOOTSTRAP_TOKEN_NAMESPACE, tokenSecret(token, { ttlSeconds: cmd.ttlSeconds, description: cmd.description }));
      if (!cmd.printJoinCommand) return void process.stdout.write(formatToken(token) + "\n");
      if (!caPem) throw new FlagError("kubeconfig", "has no certificate-authority-data, so the CA hash for the join command is unknown");
      process.stdout.write(`bramble agent --server ${server} --token ${formatToken(token)} --ca-cert-hash ${caCertHashOfPem(caPem)}\n`);
    } else if (cmd.action === "list") {
      const list = await api.list(BOOTSTRAP_TOKEN_NAMESPACE, { fieldSelector: `type=${BOOTSTRAP_TOKEN_SECRET_TYPE}` });
      const infos = list.items.map(tokenInfo).filter((i): i is TokenInfo => i !== undefined);
      process.stdout.write(infos.length ? formatTokenTable(infos, new Date()) : "no bootstrap tokens\n");
    } else {
      await api.delete(BOOTSTRAP_TOKEN_NAMESPACE, tokenSecretName(cmd.id!));
      process.stdout.write(`bootstrap token "${cmd.id}" deleted\n`);
    }
  } catch (e) {
    if (e instanceof ApiError && e.code === 404 && cmd.action === "delete") throw new Error(`bootstrap token "${cmd.id}" not found`);
    throw e;
  }
}
