// Test harness for controllers: an in-process API server on the memory store, served over real
// HTTP so controllers use the same typed client, informers and watches as in production.
import { KubeClient } from "../../client/client";
import { startTestApi, TEST_TOKEN, type TestApi } from "../apiserver/testing";

export interface ControllerTestEnv {
  t: TestApi;
  client: KubeClient;
  stop(): Promise<void>;
}

export async function startControllerTestEnv(): Promise<ControllerTestEnv> {
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

/** Polls until `f` returns a truthy value (bounded: no timing assertions, just a ceiling). */
export async function eventually<T>(f: () => Promise<T> | T, what = "condition", tries = 200, everyMs = 25): Promise<NonNullable<T>> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      const v = await f();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    await Bun.sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ""}`);
}

/** Resolves to the object, or undefined on 404. */
export async function getOrUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (e) {
    if ((e as { code?: number }).code === 404) return undefined;
    throw e;
  }
}
