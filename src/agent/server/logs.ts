// GET /containerLogs/{namespace}/{pod}/{container}: a container's output as plain text,
// streamed as Docker produces it, so `kubectl logs -f` sees each line when it is written.
// The client going away cancels the body, which ends the Docker log stream.
import type { Readable } from "node:stream";
import { boolQueryParam } from "../../api/bool-param";
import { ApiError, badRequest } from "../../api/errors";
import type { ContainerRuntime, LogOptions } from "../runtime/runtime";
import { logsContainer, type ContainerRef } from "./containers";

export interface LogQuery extends LogOptions {
  previous: boolean;
  limitBytes?: number;
}

function int(q: URLSearchParams, k: string, min: number): number | undefined {
  const v = q.get(k);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw badRequest(`${k}: must be an integer >= ${min}, got "${v}"`);
  return n;
}

/** The query upstream's pods/log forwards (PodLogOptions), checked. */
export function parseLogQuery(q: URLSearchParams, now = Date.now()): LogQuery {
  const sinceSeconds = int(q, "sinceSeconds", 1);
  const sinceTime = q.get("sinceTime");
  if (sinceSeconds !== undefined && sinceTime) throw badRequest("at most one of sinceTime or sinceSeconds may be specified");
  let since: number | undefined;
  if (sinceSeconds !== undefined) since = Math.floor(now / 1000) - sinceSeconds;
  if (sinceTime) {
    const t = Date.parse(sinceTime);
    if (Number.isNaN(t)) throw badRequest(`sinceTime: "${sinceTime}" is not an RFC 3339 time`);
    since = Math.floor(t / 1000);
  }
  return {
    follow: boolQueryParam(q, "follow"),
    previous: boolQueryParam(q, "previous"),
    timestamps: boolQueryParam(q, "timestamps"),
    tail: int(q, "tailLines", 0),
    limitBytes: int(q, "limitBytes", 1),
    since,
  };
}

export async function containerLogs(runtime: ContainerRuntime, nodeName: string, ref: ContainerRef, query: LogQuery): Promise<Response> {
  const c = await logsContainer(runtime, nodeName, ref, query.previous);
  // A previous (exited) container has nothing more to say: following it would only wait.
  const follow = query.follow && !query.previous && c.state === "running";
  let stream: Readable;
  try {
    stream = await runtime.logs(c.id, { follow, tail: query.tail, since: query.since, timestamps: query.timestamps });
  } catch (e) {
    throw new ApiError(500, "InternalError", `reading logs of container "${ref.container}" failed: ${(e as Error).message}`);
  }
  return new Response(toWebStream(stream, query.limitBytes), { headers: { "content-type": "text/plain; charset=utf-8", "cache-control": "no-cache" } });
}

/** A Node stream as a web stream, pulled (so a slow reader slows Docker) and cut at `limit` bytes. */
export function toWebStream(stream: Readable, limit = Infinity): ReadableStream<Uint8Array> {
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  let left = limit;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { value, done } = await chunks.next();
        if (done) return controller.close();
        let bytes = typeof value === "string" ? Buffer.from(value) : new Uint8Array(value);
        if (bytes.length >= left) {
          bytes = bytes.subarray(0, left);
          left = 0;
          controller.enqueue(bytes);
          stream.destroy();
          return controller.close();
        }
        left -= bytes.length;
        controller.enqueue(bytes);
      } catch (e) {
        controller.error(e);
      }
    },
    cancel() {
      stream.destroy();
    },
  });
}
