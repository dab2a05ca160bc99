// A closed-loop HTTP load generator: N clients, each with one request in flight at a time,
// until a deadline or a request budget runs out. Bun's fetch keeps connections alive and pools
// them per host, so N concurrent clients hold N keep-alive connections.
import { percentile } from "./table.ts";

export interface LoadResult {
  name: string;
  requests: number;
  errors: number;
  ms: number;
  rate: number;
  p50: number;
  p99: number;
  max: number;
  firstError?: string;
}

export interface LoadOptions {
  name: string;
  clients: number;
  /** Stop after this long (ms) ... */
  durationMs?: number;
  /** ... or after this many requests in total, whichever comes first. */
  maxRequests?: number;
  /** Issues request number `i` for client `c`; resolves to the response. */
  request(client: number, i: number): Promise<Response>;
  /** Status code that counts as success. */
  expect: number;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const latencies: number[] = [];
  let requests = 0;
  let errors = 0;
  let issued = 0;
  let firstError: string | undefined;
  const start = performance.now();
  const deadline = start + (o.durationMs ?? Infinity);
  const budget = o.maxRequests ?? Infinity;
  await Promise.all(
    Array.from({ length: o.clients }, async (_, c) => {
      while (performance.now() < deadline && issued < budget) {
        const i = issued++;
        const t = performance.now();
        try {
          const res = await o.request(c, i);
          const body = await res.text(); // read it all, so the connection is reusable
          if (res.status !== o.expect) {
            errors++;
            firstError ??= `${res.status} ${body.slice(0, 200)}`;
          }
        } catch (e) {
          errors++;
          firstError ??= String(e);
        }
        latencies.push(performance.now() - t);
        requests++;
      }
    }),
  );
  const ms = performance.now() - start;
  latencies.sort((a, b) => a - b);
  return { name: o.name, requests, errors, ms, rate: (requests / ms) * 1000, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), max: latencies.at(-1) ?? 0, firstError };
}

/** fetch bound to one server: its CA, its bearer token, JSON bodies. */
export function apiClient(server: { url: string; token: string; caCertPem: string }) {
  const headers = { authorization: `Bearer ${server.token}`, "content-type": "application/json", accept: "application/json" };
  const tls = { ca: server.caCertPem };
  return {
    get: (path: string, init: RequestInit = {}) => fetch(server.url + path, { ...init, headers, tls } as RequestInit),
    post: (path: string, body: unknown) => fetch(server.url + path, { method: "POST", headers, body: JSON.stringify(body), tls } as RequestInit),
    patch: (path: string, body: unknown, type = "application/merge-patch+json") =>
      fetch(server.url + path, { method: "PATCH", headers: { ...headers, "content-type": type }, body: JSON.stringify(body), tls } as RequestInit),
    del: (path: string, body?: unknown) => fetch(server.url + path, { method: "DELETE", headers, tls, ...(body !== undefined && { body: JSON.stringify(body) }) } as RequestInit),
    /** No token: for the unauthenticated /healthz baseline. */
    plain: (path: string) => fetch(server.url + path, { tls } as RequestInit),
  };
}
