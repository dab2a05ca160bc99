// Warnings for the client, collected while a request is served (an admission webhook's
// warnings) and sent as `Warning: 299 - "<text>"` headers on its response, as upstream does.
import { AsyncLocalStorage } from "node:async_hooks";

const storage = new AsyncLocalStorage<string[]>();

/** Serves `fn` collecting warnings, then adds them to its response. */
export async function withWarnings(fn: () => Response | Promise<Response>): Promise<Response> {
  const warnings: string[] = [];
  const res = await storage.run(warnings, fn);
  if (!warnings.length) return res;
  try {
    for (const w of warnings) res.headers.append("warning", `299 - ${JSON.stringify(w)}`);
    return res;
  } catch {
    // Immutable headers (a proxied response): copy it.
    const copy = new Response(res.body, res);
    for (const w of warnings) copy.headers.append("warning", `299 - ${JSON.stringify(w)}`);
    return copy;
  }
}

/** A warning for the response of the request being served; dropped outside one. */
export const addWarning = (w: string) => void storage.getStore()?.push(w);
