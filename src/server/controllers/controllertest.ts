// Test harness for controllers: an in-process API server on the memory store, served over real
// HTTP so controllers use the same typed client, informers and watches as in production.
import { startHttpTestApi, type HttpTestApi } from "../apiserver/testing";

export type ControllerTestEnv = HttpTestApi;
export const startControllerTestEnv = () => startHttpTestApi();

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
