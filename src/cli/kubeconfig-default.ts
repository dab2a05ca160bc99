// Which kubeconfig a client subcommand uses without --kubeconfig: kubectl's rule first — a set
// $KUBECONFIG is used alone (its first file that exists, else its first entry, so the error
// names it), never mixed with ~/.kube/config — then ~/.kube/config, then the admin kubeconfig a
// server on this machine wrote, so `bramble token create` works out of the box on the server.
import { existsSync } from "node:fs";
import { join } from "node:path";

export const SERVER_ADMIN_KUBECONFIG = "/var/lib/bramble/server/admin.kubeconfig";

export function defaultClientKubeconfig(env: Record<string, string | undefined>, homeDir: string, exists: (p: string) => boolean = existsSync): string {
  const entries = (env.KUBECONFIG ?? "").split(":").filter(Boolean);
  if (entries.length) return entries.find((p) => exists(p)) ?? entries[0]!;
  const candidates = [join(homeDir, ".kube", "config"), SERVER_ADMIN_KUBECONFIG, join(homeDir, ".bramble", "server", "admin.kubeconfig")];
  // Nothing exists: name the first candidate, so the error says where we looked first.
  return candidates.find((p) => exists(p)) ?? candidates[0]!;
}
