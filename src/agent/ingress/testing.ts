// Self-signed certificates for the ingress tests, made with openssl.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A self-signed certificate and key (PEM) for `host` (a SAN; `*.x` for a wildcard), CN = `cn`. */
export function selfSigned(host: string, cn = host): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), "bramble-cert-"));
  try {
    const r = Bun.spawnSync(
      ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2", "-subj", `/CN=${cn}`, "-addext", `subjectAltName=DNS:${host}`, "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem")],
      { stderr: "pipe" },
    );
    if (r.exitCode !== 0) throw new Error(`openssl failed: ${r.stderr.toString()}`);
    return { cert: readFileSync(join(dir, "c.pem"), "utf8"), key: readFileSync(join(dir, "k.pem"), "utf8") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A kubernetes.io/tls Secret's data for a certificate. */
export const tlsData = (c: { cert: string; key: string }) => ({ "tls.crt": Buffer.from(c.cert).toString("base64"), "tls.key": Buffer.from(c.key).toString("base64") });

/** A loopback port nothing listens on right now. */
export function freeLoopbackPort(): number {
  const s = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = s.port!;
  s.stop(true);
  return port;
}
