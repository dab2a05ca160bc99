// The typed HTTP client every component uses to talk to the API server: controllers, the
// scheduler, agents, simulated nodes and the CLI. Errors come back as ApiError with the
// server's Status, so callers can branch on code and reason.
import { ApiError } from "../api/errors";
import type { KubeObject, ListMeta } from "../api/meta";
import { readKubeconfig, resolveContext, type ResolvedCredentials } from "./kubeconfig";
import { readWatchStream, type WatchEvent } from "./watch";

/** Where a resource lives in the API; a ResourceDef satisfies it. */
export interface ResourceRef {
  group: string;
  version: string;
  plural: string;
  namespaced: boolean;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
}

export interface WatchOptions extends ListOptions {
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
}

export interface ObjectList<T> {
  metadata: ListMeta;
  items: T[];
}

export type PatchType = "merge" | "strategic" | "json";
const PATCH_CONTENT_TYPE: Record<PatchType, string> = {
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  json: "application/json-patch+json",
};

export interface DeleteOptions {
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export class KubeClient {
  /**
   * `transport` replaces the network: the server's own control loops hand their requests
   * straight to the API server's handler, skipping TLS and sockets, through the same API.
   */
  constructor(
    readonly creds: ResolvedCredentials,
    private readonly transport?: (req: Request) => Response | Promise<Response>,
  ) {}

  static fromKubeconfig(path: string): KubeClient {
    return new KubeClient(resolveContext(readKubeconfig(path)));
  }

  resource<T extends KubeObject = KubeObject>(ref: ResourceRef): ResourceClient<T> {
    return new ResourceClient<T>(this, ref);
  }

  /** One request; JSON in and out; a Status error becomes an ApiError. */
  async request(method: string, path: string, body?: unknown, contentType = "application/json", signal?: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.creds.token) headers.authorization = `Bearer ${this.creds.token}`;
    if (body !== undefined) headers["content-type"] = contentType;
    let res: Response;
    try {
      const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal };
      res = this.transport
        ? await this.transport(new Request(this.creds.server + path, init))
        : await fetch(this.creds.server + path, { ...init, tls: this.creds.caCertPem ? { ca: this.creds.caCertPem } : undefined });
    } catch (e) {
      if ((e as Error).name === "AbortError") throw e;
      throw new ApiError(503, "ServiceUnavailable", `cannot reach the API server at ${this.creds.server}: ${(e as Error).message}`);
    }
    if (res.status >= 400) throw await errorFrom(res);
    return res;
  }

  async json<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const res = await this.request(method, path, body, contentType);
    return (await res.json()) as T;
  }
}

async function errorFrom(res: Response): Promise<ApiError> {
  const text = await res.text();
  try {
    const s = JSON.parse(text);
    if (s?.kind === "Status") return new ApiError(s.code ?? res.status, s.reason ?? "InternalError", s.message ?? text, s.details);
  } catch {}
  return new ApiError(res.status, res.status === 401 ? "Unauthorized" : "InternalError", text || res.statusText);
}

const query = (opts: Record<string, string | number | boolean | undefined>) => {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(opts)) if (v !== undefined && v !== "") q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : "";
};

export class ResourceClient<T extends KubeObject> {
  constructor(
    private readonly client: KubeClient,
    readonly ref: ResourceRef,
  ) {}

  /** Collection path, in a namespace when the resource is namespaced and one is given. */
  path(namespace?: string, name?: string, subresource?: string): string {
    const base = this.ref.group ? `/apis/${this.ref.group}/${this.ref.version}` : `/api/${this.ref.version}`;
    const ns = this.ref.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : "";
    return `${base}${ns}/${this.ref.plural}${name ? `/${encodeURIComponent(name)}` : ""}${subresource ? `/${subresource}` : ""}`;
  }

  get(namespace: string | undefined, name: string): Promise<T> {
    return this.client.json("GET", this.path(namespace, name));
  }

  list(namespace?: string, opts: ListOptions = {}): Promise<ObjectList<T>> {
    return this.client.json("GET", this.path(namespace) + query({ ...opts }));
  }

  create(namespace: string | undefined, obj: T): Promise<T> {
    return this.client.json("POST", this.path(namespace), obj);
  }

  update(obj: T): Promise<T> {
    return this.client.json("PUT", this.path(obj.metadata.namespace, obj.metadata.name), obj);
  }

  updateStatus(obj: T): Promise<T> {
    return this.client.json("PUT", this.path(obj.metadata.namespace, obj.metadata.name, "status"), obj);
  }

  patch(namespace: string | undefined, name: string, patch: unknown, type: PatchType = "merge", subresource?: string): Promise<T> {
    return this.client.json("PATCH", this.path(namespace, name, subresource), patch, PATCH_CONTENT_TYPE[type]);
  }

  delete(namespace: string | undefined, name: string, opts: DeleteOptions = {}): Promise<T> {
    return this.client.json("DELETE", this.path(namespace, name), { kind: "DeleteOptions", apiVersion: "v1", ...opts });
  }

  /** POST to a subresource (binding, eviction). */
  post(namespace: string | undefined, name: string, subresource: string, body: unknown): Promise<unknown> {
    return this.client.json("POST", this.path(namespace, name, subresource), body);
  }

  /**
   * Streams watch events until the server ends the stream, `stop()` is called, or the connection
   * breaks; `done` settles then (rejecting with ApiError on an ERROR event, e.g. 410 Gone).
   */
  watch(namespace: string | undefined, opts: WatchOptions, onEvent: (e: WatchEvent<T>) => void): { stop(): void; done: Promise<void> } {
    const abort = new AbortController();
    const url = this.path(namespace) + query({ ...opts, watch: 1 });
    const done = (async () => {
      const res = await this.client.request("GET", url, undefined, undefined, abort.signal);
      await readWatchStream<T>(res, onEvent, abort.signal);
    })().catch((e) => {
      if ((e as Error).name !== "AbortError") throw e;
    });
    return { stop: () => abort.abort(), done };
  }
}
