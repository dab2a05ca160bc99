// `bramble secrets-encrypt status|rotate-keys|reencrypt`, as k3s's: it asks the running server
// (which owns the store and the keys) through its admin-only endpoint, with the admin kubeconfig.
import { ApiError } from "../api/errors";
import { KubeClient } from "../client/client";
import { readKubeconfig, resolveContext } from "../client/kubeconfig";
import { SECRETS_ENCRYPT_PATH } from "../server/encryption/routes";
import type { EncryptionStatus, ReencryptResult } from "../server/encryption/secrets-encryption";
import { parseFlags } from "./argv";
import { FlagError, stringFlag } from "./flags";
import { defaultClientKubeconfig } from "./kubeconfig-default";
import type { FlagSpec } from "./server";

export const SECRETS_ENCRYPT_FLAGS: FlagSpec[] = [
  { name: "kubeconfig", value: "<path>", description: "Admin kubeconfig (default: $KUBECONFIG, ~/.kube/config, then /var/lib/bramble/server/admin.kubeconfig)" },
];

const ACTIONS = ["status", "rotate-keys", "reencrypt"] as const;
type Action = (typeof ACTIONS)[number];

export function secretsEncryptCommandFromArgs(args: readonly string[], env: Record<string, string | undefined>, homeDir: string): { action: Action; kubeconfig: string } {
  const [action, ...rest] = args;
  if (!ACTIONS.includes(action as Action)) {
    throw new Error(action === undefined ? "secrets-encrypt: a subcommand is required: status, rotate-keys or reencrypt" : `secrets-encrypt: unknown subcommand "${action}" (status, rotate-keys or reencrypt)`);
  }
  const raw = parseFlags(rest, SECRETS_ENCRYPT_FLAGS);
  return { action: action as Action, kubeconfig: stringFlag(raw, "kubeconfig") ?? defaultClientKubeconfig(env, homeDir) };
}

export function formatStatus(s: EncryptionStatus): string {
  if (!s.enabled) return "Encryption Status: Disabled\n(start the server with --secrets-encryption to turn it on)\n";
  const other = Object.entries(s.onOtherKeys ?? {});
  const onKeys =
    s.allOnCurrentKey
      ? `all ${s.storedValues} on the current key`
      : `${s.onCurrentKey} of ${s.storedValues} on the current key (${[...other.map(([k, n]) => `${n} on ${k || "a damaged envelope"}`), `${s.plain} not encrypted`].join(", ")}): run \`bramble secrets-encrypt reencrypt\``;
  const lines = [
    "Encryption Status: Enabled",
    `Current Key: ${s.currentKey}`,
    `Key File: ${s.keyFile}`,
    `Secrets: ${s.secrets} (${s.storedValues} stored values, with the history kept for watches)`,
    `Stored Values: ${onKeys}`,
    "",
    "Active  Key Type  Name",
    "------  --------  ----",
    ...(s.keys ?? []).map((name) => `${name === s.currentKey ? " *" : "  "}      AES-GCM   ${name}`),
  ];
  return lines.join("\n") + "\n";
}

function formatResult(action: Action, r: ReencryptResult): string {
  const removed = r.removedKeys.length > 0 ? `; removed key${r.removedKeys.length > 1 ? "s" : ""} ${r.removedKeys.join(", ")}` : "";
  const head = action === "rotate-keys" ? `keys rotated: new key ${r.currentKey}` : `re-encrypted with ${r.currentKey}`;
  return `${head}; ${r.rewritten} stored values rewritten${removed}\n`;
}

export async function runSecretsEncrypt(args: readonly string[]): Promise<void> {
  const { homedir } = await import("node:os");
  const cmd = secretsEncryptCommandFromArgs(args, process.env, homedir());
  let client: KubeClient;
  try {
    client = new KubeClient(resolveContext(readKubeconfig(cmd.kubeconfig)));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new FlagError("kubeconfig", `cannot use "${cmd.kubeconfig}": ${code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied" : (e as Error).message}`);
  }
  try {
    if (cmd.action === "status") {
      process.stdout.write(formatStatus(await client.json<EncryptionStatus>("GET", `${SECRETS_ENCRYPT_PATH}/status`)));
    } else {
      process.stdout.write(formatResult(cmd.action, await client.json<ReencryptResult>("POST", `${SECRETS_ENCRYPT_PATH}/${cmd.action}`)));
    }
  } catch (e) {
    if (e instanceof ApiError && e.code === 503) throw new Error(`${e.message} (secrets-encrypt works through the running server: start it first)`);
    throw e;
  }
}
