// `bramble kubeconfig create|list|revoke`: kubeconfigs for people. The running server signs the
// credential (it alone holds the key) through its admin-only endpoint, so these commands need the
// admin kubeconfig, not root on the server machine, and no key ever leaves the server. What the
// user may do is RBAC's business: bind a role to the user name or a group separately.
import { existsSync } from "node:fs";
import { ApiError } from "../api/errors";
import { isDns1123Label } from "../api/validation";
import { KubeClient } from "../client/client";
import { readKubeconfig, renderKubeconfig, resolveContext, writeKubeconfig, type Kubeconfig } from "../client/kubeconfig";
import { nameProblem, USER_CREDENTIALS_PATH, type CredentialInfo, type IssuedCredential } from "../server/auth/users/index";
import { parseFlags } from "./argv";
import { boolFlag, durationSeconds, FlagError, stringFlag } from "./flags";
import { defaultClientKubeconfig } from "./kubeconfig-default";
import type { FlagSpec } from "./server";

const KUBECONFIG_FLAG: FlagSpec = { name: "kubeconfig", value: "<path>", description: "Admin kubeconfig (default: $KUBECONFIG, ~/.kube/config, then /var/lib/bramble/server/admin.kubeconfig)" };

export const KUBECONFIG_FLAGS: Record<"create" | "list" | "revoke", FlagSpec[]> = {
  create: [
    { name: "user", value: "<name>", description: "The user name the credential authenticates as (required)" },
    { name: "group", value: "<name>", description: "A group the user is in; repeat for several" },
    { name: "ttl", value: "<duration>", description: "How long the credential is valid, e.g. 720h, 30m (default: 8760h, a year)" },
    { name: "namespace", value: "<name>", description: "The namespace the kubeconfig's context uses (default: default)" },
    { name: "output", value: "<file>", description: "Write the kubeconfig to this new file (-o; mode 0600) instead of stdout" },
    { name: "force", description: "Allow user and group names starting with system: (reserved for the cluster)" },
    KUBECONFIG_FLAG,
  ],
  list: [KUBECONFIG_FLAG],
  revoke: [
    { name: "user", value: "<name>", description: "Revoke every credential issued to this user" },
    { name: "id", value: "<id>", description: "Revoke the one credential with this id (see kubeconfig list)" },
    KUBECONFIG_FLAG,
  ],
};

export const DEFAULT_USER_TTL_SECONDS = 365 * 24 * 3600;
const ACTIONS = ["create", "list", "revoke"] as const;
type Action = (typeof ACTIONS)[number];

export type KubeconfigCommand =
  | { action: "create"; kubeconfig: string; user: string; groups: string[]; ttlSeconds: number; namespace?: string; output?: string; force: boolean }
  | { action: "list"; kubeconfig: string }
  | { action: "revoke"; kubeconfig: string; user?: string; id?: string };

/** Pulls out every value of a repeatable flag (--group g, --group=g), leaving the rest. */
function takeRepeated(args: readonly string[], name: string): { values: string[]; rest: string[] } {
  const values: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const m = new RegExp(`^--?${name}(?:=(.*))?$`, "s").exec(a);
    if (!m) {
      rest.push(a);
      continue;
    }
    if (m[1] !== undefined) values.push(m[1]);
    else {
      const next = args[i + 1];
      if (next === undefined || next.startsWith("--")) throw new FlagError(name, "a value is required");
      values.push(next);
      i++;
    }
  }
  return { values, rest };
}

export function kubeconfigCommandFromArgs(args: readonly string[], env: Record<string, string | undefined>, homeDir: string): KubeconfigCommand {
  const [action, ...rest] = args;
  if (!ACTIONS.includes(action as Action)) {
    throw new Error(action === undefined ? "kubeconfig: a subcommand is required: create, list or revoke" : `kubeconfig: unknown subcommand "${action}" (create, list or revoke)`);
  }
  if (action === "list") {
    const raw = parseFlags(rest, KUBECONFIG_FLAGS.list);
    return { action, kubeconfig: stringFlag(raw, "kubeconfig") ?? defaultClientKubeconfig(env, homeDir) };
  }
  if (action === "revoke") {
    const raw = parseFlags(rest, KUBECONFIG_FLAGS.revoke);
    const user = stringFlag(raw, "user");
    const id = stringFlag(raw, "id");
    if ((user === undefined) === (id === undefined)) throw new Error("kubeconfig revoke: name exactly one of --user or --id");
    if (id !== undefined && !/^[0-9a-f]{16}$/.test(id)) throw new FlagError("id", `"${id}" is not a credential id (16 hex characters, see bramble kubeconfig list)`);
    if (user === "") throw new FlagError("user", "must not be empty");
    return { action, kubeconfig: stringFlag(raw, "kubeconfig") ?? defaultClientKubeconfig(env, homeDir), user, id };
  }
  const { values: groups, rest: afterGroups } = takeRepeated(rest, "group");
  // -o is kubectl's short form of --output.
  const { values: outputs, rest: flagArgs } = takeRepeated(afterGroups, "o");
  const raw = parseFlags(flagArgs, KUBECONFIG_FLAGS.create);
  const force = boolFlag(raw, "force");
  const user = stringFlag(raw, "user");
  if (user === undefined) throw new FlagError("user", "is required: the name the credential authenticates as");
  const userProblem = nameProblem("user", user, force);
  if (userProblem) throw new FlagError("user", userProblem);
  for (const g of groups) {
    const p = nameProblem("group", g, force);
    if (p) throw new FlagError("group", p);
  }
  const ttlText = stringFlag(raw, "ttl");
  const ttlSeconds = ttlText === undefined ? DEFAULT_USER_TTL_SECONDS : durationSeconds("ttl", ttlText);
  if (ttlSeconds < 1) throw new FlagError("ttl", "must be at least 1s: user credentials always expire");
  const namespace = stringFlag(raw, "namespace");
  if (namespace !== undefined && isDns1123Label(namespace).length) throw new FlagError("namespace", `"${namespace}" is not a valid namespace name (${isDns1123Label(namespace)[0]})`);
  const output = [...outputs, ...(stringFlag(raw, "output") !== undefined ? [stringFlag(raw, "output")!] : [])];
  if (output.length > 1) throw new FlagError("output", "given more than once");
  if (output[0] === "") throw new FlagError("output", "must not be empty");
  return { action: "create", kubeconfig: stringFlag(raw, "kubeconfig") ?? defaultClientKubeconfig(env, homeDir), user, groups, ttlSeconds, namespace, output: output[0], force };
}

/** The kubeconfig handed to the user: the cluster as the admin kubeconfig names it, and the token. */
export function userKubeconfig(p: { server: string; caCertPem?: string; user: string; token: string; namespace?: string }): Kubeconfig {
  const context = `${p.user}@bramble`;
  return {
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: "bramble", cluster: { server: p.server, ...(p.caCertPem ? { "certificate-authority-data": Buffer.from(p.caCertPem).toString("base64") } : {}) } }],
    contexts: [{ name: context, context: { cluster: "bramble", user: p.user, ...(p.namespace ? { namespace: p.namespace } : {}) } }],
    "current-context": context,
    preferences: {},
    users: [{ name: p.user, user: { token: p.token } }],
  };
}

export function formatCredentialTable(items: CredentialInfo[], now: Date): string {
  const rows = [["ID", "USER", "GROUPS", "EXPIRES", "STATUS"]];
  for (const i of items) {
    const groups = i.groups.filter((g) => g !== "system:authenticated");
    const status = i.revoked ? `revoked ${i.revoked}` : Date.parse(i.expires) <= now.getTime() ? "expired" : "valid";
    rows.push([i.id, i.user, groups.join(",") || "<none>", i.expires, status]);
  }
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd(widths[c]! + 3))).join("").trimEnd()).join("\n") + "\n";
}

const shellWord = (s: string) => (/^[\w.@:=+-]+$/.test(s) ? s : `'${s.replaceAll("'", `'\\''`)}'`);

/** What to run next: the credential says who someone is, RBAC what they may do. */
export function grantHint(user: string, namespace = "default"): string {
  const binding = `${user.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 50) || "user"}-view`;
  return `no permissions yet; to let them read namespace ${namespace}: kubectl -n ${namespace} create rolebinding ${binding} --clusterrole=view --user=${shellWord(user)}`;
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

export async function runKubeconfig(args: readonly string[]): Promise<void> {
  const { homedir } = await import("node:os");
  const cmd = kubeconfigCommandFromArgs(args, process.env, homedir());
  if (cmd.action === "create" && cmd.output && existsSync(cmd.output)) throw new FlagError("output", `"${cmd.output}" already exists (remove it first, or pick another file)`);
  const { client, server, caPem } = clientFor(cmd.kubeconfig);
  try {
    if (cmd.action === "create") {
      const c = await client.json<IssuedCredential>("POST", USER_CREDENTIALS_PATH, { user: cmd.user, groups: cmd.groups, ttlSeconds: cmd.ttlSeconds, force: cmd.force });
      const kc = userKubeconfig({ server, caCertPem: caPem, user: cmd.user, token: c.token, namespace: cmd.namespace });
      if (cmd.output) {
        writeKubeconfig(cmd.output, kc);
        process.stderr.write(`wrote ${cmd.output} for user "${c.user}" (credential ${c.id}, expires ${c.expires})\n`);
      } else process.stdout.write(renderKubeconfig(kc));
      process.stderr.write(`${grantHint(cmd.user, cmd.namespace)}\n`);
    } else if (cmd.action === "list") {
      const { items } = await client.json<{ items: CredentialInfo[] }>("GET", USER_CREDENTIALS_PATH);
      process.stdout.write(items.length ? formatCredentialTable(items, new Date()) : "no user credentials\n");
    } else {
      const { items } = await client.json<{ items: CredentialInfo[] }>("POST", `${USER_CREDENTIALS_PATH}/revoke`, cmd.id ? { id: cmd.id } : { user: cmd.user });
      for (const i of items) process.stdout.write(`user credential ${i.id} of "${i.user}" revoked\n`);
    }
  } catch (e) {
    if (e instanceof ApiError && e.code === 404 && cmd.action !== "revoke") throw new Error(`${e.message} (this server has no user credentials: upgrade it)`);
    throw e;
  }
}
