// What upstream's proxy transport (k8s.io/apimachinery/pkg/util/proxy/transport.go) changes in
// a backend's answer so that links keep going through the API server: a Location header, and
// the URL attributes of an HTML page, that point at the backend itself (or at the host the
// client asked) get the proxy path (…/services/web:80/proxy) put in front. Links to other hosts
// and relative links are left alone.
import { posix } from "node:path";

export interface RewriteContext {
  /** The path up to and including the /proxy segment, as the client sent it. */
  pathPrepend: string;
  /** host[:port] of the backend the request went to. */
  backendHost: string;
  /** The Host header the client sent. */
  requestHost: string;
}

// scheme, //authority, path, ?query#fragment
const URL_PARTS = /^([a-zA-Z][a-zA-Z0-9+.-]*:)?(\/\/[^/?#]*)?([^?#]*)(.*)$/s;

/** transport.rewriteURL: the URL as the client should follow it. */
export function rewriteURL(target: string, c: RewriteContext): string {
  const m = URL_PARTS.exec(target);
  if (!m) return target;
  let [, scheme = "", authority = "", path = "", rest = ""] = m;
  const host = authority ? authority.slice(2).replace(/^.*@/, "") : "";
  const isDifferentHost = host !== "" && host !== c.backendHost && host !== c.requestHost;
  const isRelative = !path.startsWith("/");
  if (isDifferentHost || isRelative) return target;
  // The API server's own scheme and host are not known to a handler (Go's req.URL has neither),
  // so the link becomes host-relative, unless it already names the host the client used.
  if (!(host !== "" && host === c.requestHost)) {
    scheme = "";
    authority = "";
  }
  if (!path.startsWith(c.pathPrepend)) {
    const joined = posix.join(c.pathPrepend, path);
    path = path.endsWith("/") && !joined.endsWith("/") ? `${joined}/` : joined;
  }
  return `${scheme}${authority}${path}${rest}`;
}

/** transport.go's atomsToAttrs: which attributes of which elements hold URLs. */
export const URL_ATTRIBUTES: Record<string, string[]> = {
  a: ["href"],
  applet: ["codebase"],
  area: ["href"],
  audio: ["src"],
  base: ["href"],
  blockquote: ["cite"],
  body: ["background"],
  button: ["formaction"],
  command: ["icon"],
  del: ["cite"],
  embed: ["src"],
  form: ["action"],
  frame: ["longdesc", "src"],
  head: ["profile"],
  html: ["manifest"],
  iframe: ["longdesc", "src"],
  img: ["longdesc", "src", "usemap"],
  input: ["src", "usemap", "formaction"],
  ins: ["cite"],
  link: ["href"],
  object: ["classid", "codebase", "data", "usemap"],
  q: ["cite"],
  script: ["src"],
  source: ["src"],
  video: ["poster", "src"],
};

/**
 * An HTML response with its links rewritten, streamed (Bun's HTMLRewriter) rather than buffered
 * as upstream does. gzip and deflate bodies are decoded and sent uncompressed; another encoding
 * is passed through untouched, as upstream does.
 */
export function rewriteHTML(res: Response, c: RewriteContext): Response {
  const encoding = (res.headers.get("content-encoding") ?? "").trim().toLowerCase();
  if (!res.body || !["", "gzip", "deflate"].includes(encoding)) return res;
  const headers = new Headers(res.headers);
  headers.delete("content-length");
  let body: ReadableStream<Uint8Array> = res.body;
  if (encoding) {
    body = body.pipeThrough(new DecompressionStream(encoding as "gzip" | "deflate") as unknown as ReadableWritablePair<Uint8Array, Uint8Array>);
    headers.delete("content-encoding");
  }
  const rewriter = new HTMLRewriter();
  for (const [tag, attrs] of Object.entries(URL_ATTRIBUTES)) {
    rewriter.on(tag, {
      element(el) {
        for (const a of attrs) {
          const v = el.getAttribute(a);
          if (v !== null) el.setAttribute(a, rewriteURL(v, c));
        }
      },
    });
  }
  return rewriter.transform(new Response(body, { status: res.status, statusText: res.statusText, headers }));
}
