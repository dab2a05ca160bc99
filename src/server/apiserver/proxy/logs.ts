// pods/log: the agent's containerLogs response, streamed through as it arrives, so
// `kubectl logs -f` shows each line live. The client's request signal aborts the upstream
// fetch, so a closed kubectl closes the agent's Docker log stream too.
import type { Server } from "bun";
import { boolQueryParam } from "../../../api/bool-param";
import { containerLogsPath, POD_UID_PARAM } from "../../../api/kubelet-api";
import { json } from "../handlers/respond";
import type { KubeletTokenSigner } from "./signer";
import { unavailable, type AgentTarget } from "./target";

/** PodLogOptions the agent understands; anything else kubectl might add is not forwarded. */
const FORWARDED = ["tailLines", "sinceSeconds", "sinceTime", "limitBytes"];
const FLAGS = ["follow", "timestamps", "previous"] as const;

export async function proxyLogs(t: AgentTarget, sign: KubeletTokenSigner, req: Request, url: URL, server?: Server<unknown>): Promise<Response> {
  const upstream = new URL(containerLogsPath(t.pod.metadata.namespace ?? "default", t.pod.metadata.name!, t.container), t.base);
  for (const k of FORWARDED) {
    const v = url.searchParams.get(k);
    if (v !== null) upstream.searchParams.set(k, v);
  }
  // Read here as kube-apiserver reads them and forwarded in one spelling the agent cannot misread.
  const flags = FLAGS.filter((k) => boolQueryParam(url.searchParams, k));
  for (const k of flags) upstream.searchParams.set(k, "true");
  if (t.pod.metadata.uid) upstream.searchParams.set(POD_UID_PARAM, t.pod.metadata.uid);
  const follow = flags.includes("follow");
  if (follow) server?.timeout(req, 0); // a quiet container is not an idle connection

  let res: Response;
  try {
    res = await fetch(upstream, {
      headers: { authorization: `Bearer ${await sign(t.node)}` },
      tls: { ca: t.pinnedCertPem },
      signal: req.signal,
      timeout: follow ? false : true,
    });
  } catch (e) {
    throw unavailable(`error dialing backend: the agent on node "${t.node}" (${t.base}) is unreachable: ${(e as Error).message}`);
  }
  if (res.status === 401 || res.status === 403) {
    await res.body?.cancel();
    // Passing the 401 on would tell kubectl its own credentials are wrong.
    throw unavailable(`the agent on node "${t.node}" refused the API server's credentials (it may trust another cluster CA)`);
  }
  if (!res.ok) return json(await res.json().catch(() => ({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message: `the agent on node "${t.node}" answered ${res.status}`, code: res.status })), res.status);
  return new Response(res.body, { status: 200, headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-cache" } });
}
