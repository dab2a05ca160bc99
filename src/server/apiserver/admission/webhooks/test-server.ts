// For tests: an HTTPS admission webhook on 127.0.0.1 with a certificate from a fresh CA (the
// cluster PKI's own helpers), answering each AdmissionReview with what `answer` returns.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureCa, ensureServingCert } from "../../../pki";

export interface ReviewRequest {
  uid: string;
  operation: string;
  name: string;
  namespace?: string;
  object?: { metadata?: { labels?: Record<string, string> } } & Record<string, unknown>;
  [k: string]: unknown;
}

export interface TestWebhook {
  url: (path?: string) => string;
  /** The CA's certificate, base64 as a caBundle. */
  caBundle: string;
  requests: ReviewRequest[];
  stop(): void;
}

export type Answer = (req: ReviewRequest, path: string) => Record<string, unknown> | Promise<Record<string, unknown>>;

export async function startTestWebhook(answer: Answer, sans = { dns: ["localhost"], ips: ["127.0.0.1"] }): Promise<TestWebhook> {
  const dir = mkdtempSync(join(tmpdir(), "webhook-pki-"));
  const ca = await ensureCa(dir);
  const serving = await ensureServingCert(dir, ca, sans);
  rmSync(dir, { recursive: true, force: true });
  const requests: ReviewRequest[] = [];
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    tls: { cert: serving.certPem, key: serving.keyPem },
    async fetch(req) {
      const review = (await req.json()) as { apiVersion: string; request: ReviewRequest };
      requests.push(review.request);
      const response = { uid: review.request.uid, allowed: true, ...(await answer(review.request, new URL(req.url).pathname)) };
      return Response.json({ apiVersion: review.apiVersion, kind: "AdmissionReview", response });
    },
  });
  return {
    url: (path = "/") => `https://127.0.0.1:${server.port}${path}`,
    caBundle: Buffer.from(ca.certPem).toString("base64"),
    requests,
    stop: () => server.stop(true),
  };
}

/** A base64 JSONPatch, as a webhook's response carries it. */
export const patchOf = (ops: unknown[]) => ({ patchType: "JSONPatch", patch: Buffer.from(JSON.stringify(ops)).toString("base64") });
