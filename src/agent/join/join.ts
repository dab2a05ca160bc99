// Joining a cluster, kubeadm's discovery flow: fetch the CA without trusting the connection,
// keep only the certificate whose public key matches the pinned hash, then (over TLS verified
// against that CA alone) trade the join token (a bootstrap token or the server token) for this
// node's own credential and keep it. Unreachable servers are retried with backoff; a wrong pin
// or a refused token is final.
import { Backoff } from "../../machinery/backoff";
import type { Logger } from "../../machinery/log";
import { parseJoinToken } from "../../api/join-token";
import { pinnedCa } from "./pin";
import { loadCredentials, saveCredentials, type StoredCredentials } from "./store";

/** Far more than any CA bundle: a /cacerts answer bigger than this is not one. */
const MAX_CA_BUNDLE_CHARS = 1024 * 1024;

// The server's join endpoints (src/server/join/paths.ts; the agent may not import server code).
const JOIN_CA_PATH = "/cacerts";
const JOIN_PATH = "/v1-bramble/join";

export interface JoinOptions {
  /** Required for a first join; afterwards the stored server is used. */
  server?: string;
  token?: string;
  caCertHash?: string;
  nodeName: string;
  dataDir: string;
  log: Logger;
  /** Stop retrying (the agent is being stopped). */
  signal?: AbortSignal;
}

/** A refusal that retrying will not fix: the process should say it and exit. */
export class JoinRefused extends Error {}

class Unreachable extends Error {}

async function request(url: string, init: RequestInit & { tls?: unknown }): Promise<Response> {
  try {
    return await fetch(url, { ...init, signal: AbortSignal.timeout(10_000) } as RequestInit);
  } catch (e) {
    throw new Unreachable(`cannot reach ${url}: ${(e as Error).message}`);
  }
}

async function statusMessage(res: Response): Promise<string> {
  const text = await res.text();
  try {
    return (JSON.parse(text) as { message?: string }).message ?? text;
  } catch {
    return text || res.statusText;
  }
}

async function joinOnce(o: JoinOptions & { server: string }, credential?: string): Promise<StoredCredentials> {
  // Not verified on purpose: we do not have the CA yet. The pin check below is what makes it safe.
  const caRes = await request(o.server + JOIN_CA_PATH, { tls: { rejectUnauthorized: false } } as RequestInit);
  if (!caRes.ok) throw new Unreachable(`${o.server}${JOIN_CA_PATH} answered ${caRes.status}`);
  // Refuse a bundle bigger than any CA answer could be (before reading it, when it says so).
  if (Number(caRes.headers.get("content-length") ?? 0) > MAX_CA_BUNDLE_CHARS) throw new JoinRefused(`${o.server}${JOIN_CA_PATH} is bigger than a CA bundle`);
  const bundle = await caRes.text();
  if (bundle.length > MAX_CA_BUNDLE_CHARS) throw new JoinRefused(`${o.server}${JOIN_CA_PATH} sent ${bundle.length} bytes, more than a CA bundle`);
  // Only the pinned certificate is trusted from here on (and saved), never the rest of a bundle.
  let caCertPem: string;
  try {
    caCertPem = pinnedCa(o.server, bundle, o.caCertHash!);
  } catch (e) {
    throw new JoinRefused((e as Error).message);
  }
  const res = await request(o.server + JOIN_PATH, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ token: o.token, nodeName: o.nodeName, credential }),
    tls: { ca: caCertPem },
  } as RequestInit);
  if (res.status >= 500 || res.status === 429) throw new Unreachable(`${o.server} answered ${res.status}: ${await statusMessage(res)}`);
  if (!res.ok) throw new JoinRefused(`the server refused to let node "${o.nodeName}" join: ${await statusMessage(res)}`);
  const body = (await res.json()) as { token?: string };
  if (!body.token) throw new JoinRefused(`${o.server} sent no credential`);
  return { server: o.server, caCertPem, token: body.token, nodeName: o.nodeName };
}

/**
 * The node's credentials: the stored ones when the agent has joined before (no token needed),
 * else a fresh join. Throws JoinRefused for what the user must fix.
 */
export async function ensureJoined(o: JoinOptions): Promise<StoredCredentials> {
  const stored = loadCredentials(o.dataDir);
  if (stored) {
    if (stored.nodeName !== o.nodeName) {
      throw new JoinRefused(`this machine joined as node "${stored.nodeName}", not "${o.nodeName}"; drop --node-name, or run bramble reset to join as another node`);
    }
    return stored;
  }
  if (!o.server) throw new JoinRefused(`--server: required to join (no stored credential in ${o.dataDir}/agent)`);
  if (!o.token) throw new JoinRefused(`--token: required to join (no stored credential in ${o.dataDir}/agent)`);
  const token = parseJoinToken(o.token);
  if (!token) throw new JoinRefused("--token: starts with K10 but is not K10<64 hex digits>::server:<secret>");
  if (token.caCertHash && o.caCertHash && token.caCertHash !== o.caCertHash.toLowerCase()) {
    throw new JoinRefused(`--ca-cert-hash: ${o.caCertHash} is not the CA hash inside --token (sha256:${token.caCertHash.slice(7)})`);
  }
  const caCertHash = token.caCertHash ?? o.caCertHash;
  if (!caCertHash) throw new JoinRefused("--ca-cert-hash: required to join (it pins the cluster CA), unless --token is the server's full K10... token");
  const backoff = new Backoff(1_000, 30_000);
  for (let attempt = 1; ; attempt++) {
    try {
      const creds = await joinOnce({ ...o, server: o.server, token: token.credential, caCertHash });
      saveCredentials(o.dataDir, creds);
      o.log.info("joined the cluster", { server: o.server, node: o.nodeName });
      return creds;
    } catch (e) {
      if (!(e instanceof Unreachable)) throw e;
      if (o.signal?.aborted) throw new JoinRefused("stopped before joining");
      const delay = backoff.next();
      o.log.warn("cannot join yet; retrying", { error: e.message, attempt, retryInMs: delay });
      await Bun.sleep(delay);
    }
  }
}
