// /healthz, /livez and /readyz as kube-apiserver serves them (k8s.io/apiserver/pkg/server/healthz):
// named checks; `?verbose` lists them ("[+]etcd ok" ... "readyz check passed"); `?exclude=<name>`
// skips one; `/readyz/<name>` runs one. A failing endpoint answers HTTP 500 with every check
// listed ("[-]controllers failed: reason withheld" ... "readyz check failed"). That 500 is the
// protocol, not a server error: kubectl, probes and load balancers read "not ready" from the
// status code. The reasons are withheld from the list because these paths are public; the
// individual check's path says why, as upstream's does, so reasons must never carry secrets.
import type { Hono } from "hono";

/** Resolves when healthy; throws (or rejects) with the reason otherwise. */
export type HealthCheck = () => void | Promise<void>;

export type HealthEndpoint = "healthz" | "livez" | "readyz";

interface Named {
  name: string;
  check: HealthCheck;
  endpoints: HealthEndpoint[];
}

const TEXT = { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" };

export class HealthChecks {
  private readonly checks: Named[] = [];

  /** Adds a check to the endpoints given (in the order added, which is the order listed). */
  add(name: string, endpoints: HealthEndpoint[], check: HealthCheck): this {
    if (this.checks.some((c) => c.name === name)) throw new Error(`health check ${name} is already registered`);
    this.checks.push({ name, check, endpoints });
    return this;
  }

  names(endpoint: HealthEndpoint): string[] {
    return this.of(endpoint).map((c) => c.name);
  }

  private of(endpoint: HealthEndpoint) {
    return this.checks.filter((c) => c.endpoints.includes(endpoint));
  }

  /** GET /<endpoint>: every check, or the ones not excluded. */
  async root(endpoint: HealthEndpoint, url: URL): Promise<Response> {
    const excluded = new Set(url.searchParams.getAll("exclude"));
    let out = "";
    const failed: string[] = [];
    const results = await Promise.all(this.of(endpoint).map(async (c) => (excluded.has(c.name) ? "excluded" : await run(c.check))));
    this.of(endpoint).forEach((c, i) => {
      const r = results[i];
      if (r === "excluded") {
        excluded.delete(c.name);
        out += `[+]${c.name} excluded: ok\n`;
      } else if (r === undefined) out += `[+]${c.name} ok\n`;
      else {
        out += `[-]${c.name} failed: reason withheld\n`;
        failed.push(c.name);
      }
    });
    if (excluded.size) out += `warn: some health checks cannot be excluded: no matches for ${[...excluded].map((n) => JSON.stringify(n)).join(",")}\n`;
    // Always verbose on failure; upstream's http.Error adds the final newline.
    if (failed.length) return new Response(`${out}${endpoint} check failed\n`, { status: 500, headers: TEXT });
    if (!url.searchParams.has("verbose")) return new Response("ok", { headers: TEXT });
    return new Response(`${out}${endpoint} check passed\n`, { headers: TEXT });
  }

  /** GET /<endpoint>/<name>: one check, with its reason on failure. */
  async one(endpoint: HealthEndpoint, name: string): Promise<Response | undefined> {
    const c = this.of(endpoint).find((x) => x.name === name);
    if (!c) return undefined;
    const reason = await run(c.check);
    return reason === undefined ? new Response("ok", { headers: TEXT }) : new Response(`internal server error: ${reason}\n`, { status: 500, headers: TEXT });
  }

  /** Registers the three endpoints and their per-check paths on the app (before authentication). */
  serve(app: Hono<any>) {
    for (const endpoint of ["healthz", "livez", "readyz"] as const) {
      app.get(`/${endpoint}`, (c) => this.root(endpoint, new URL(c.req.url)));
      // Check names hold slashes (poststarthook/...): everything after the endpoint is the name.
      app.get(`/${endpoint}/*`, async (c) => {
        let name: string;
        try {
          name = decodeURIComponent(new URL(c.req.url).pathname.slice(endpoint.length + 2));
        } catch {
          return c.notFound();
        }
        return (await this.one(endpoint, name)) ?? c.notFound(); // not a check: the usual 404, as upstream's mux
      });
    }
  }
}

/** undefined when the check passed, else its reason. */
async function run(check: HealthCheck): Promise<string | undefined> {
  try {
    await check();
    return undefined;
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

/** A check that fails with `message` after `ms` (a store that hangs is a store that does not answer). */
export function withTimeout(ms: number, message: string, check: HealthCheck): HealthCheck {
  return async () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([check(), new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
    } finally {
      clearTimeout(timer);
    }
  };
}
