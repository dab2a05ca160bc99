// What a joined agent keeps under <data-dir>/agent/ so a restart needs no token: a kubeconfig
// with its node credential and the pinned CA (owner-only), and the node name it joined as.
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { adminKubeconfig, readKubeconfig, renderKubeconfig, resolveContext } from "../../client/kubeconfig";

export interface StoredCredentials {
  server: string;
  caCertPem: string;
  token: string;
  nodeName: string;
}

export const agentDir = (dataDir: string) => join(dataDir, "agent");
export const credentialPaths = (dataDir: string) => ({
  kubeconfig: join(agentDir(dataDir), "kubelet.kubeconfig"),
  ca: join(agentDir(dataDir), "server-ca.crt"),
  nodeName: join(agentDir(dataDir), "node-name"),
});

function writeSecretFile(path: string, data: string) {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode: 0o600 });
  chmodSync(tmp, 0o600); // umask and an existing tmp file would otherwise decide the mode
  renameSync(tmp, path);
}

export function saveCredentials(dataDir: string, c: StoredCredentials): void {
  mkdirSync(agentDir(dataDir), { recursive: true, mode: 0o700 });
  chmodSync(agentDir(dataDir), 0o700);
  const p = credentialPaths(dataDir);
  writeSecretFile(p.ca, c.caCertPem);
  writeSecretFile(p.nodeName, c.nodeName + "\n");
  // Last: its presence is what marks the agent as joined.
  writeSecretFile(p.kubeconfig, renderKubeconfig(adminKubeconfig({ server: c.server, caCertPem: c.caCertPem, token: c.token, name: c.nodeName })));
}

export function loadCredentials(dataDir: string): StoredCredentials | undefined {
  const p = credentialPaths(dataDir);
  if (!existsSync(p.kubeconfig) || !existsSync(p.nodeName)) return undefined;
  const creds = resolveContext(readKubeconfig(p.kubeconfig));
  if (!creds.token || !creds.caCertPem) throw new Error(`${p.kubeconfig} has no credential; remove ${agentDir(dataDir)} (or run bramble reset) and join again`);
  return { server: creds.server, caCertPem: creds.caCertPem, token: creds.token, nodeName: readFileSync(p.nodeName, "utf8").trim() };
}
