// For agent unit tests: the in-process API server on the memory store, served over real HTTP so
// the code under test goes through the same KubeClient it uses in production.
import { KubeClient } from "../../client/client";
import { startTestApi, TEST_TOKEN, type TestApi } from "../../server/apiserver/testing";

export interface HttpTestApi {
  t: TestApi;
  client: KubeClient;
  stop(): Promise<void>;
}

export async function startHttpTestApi(): Promise<HttpTestApi> {
  const t = await startTestApi();
  const http = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (req, server) => t.api.fetch(req, server) });
  const client = new KubeClient({ server: `http://127.0.0.1:${http.port}`, token: TEST_TOKEN, namespace: "default" });
  return {
    t,
    client,
    async stop() {
      http.stop(true);
      await t.stop();
    },
  };
}

/** Polls until `check` returns a value (not undefined/false), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 5000, what = "condition"): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v as T;
    } catch (e) {
      last = e;
    }
    await Bun.sleep(20);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}
