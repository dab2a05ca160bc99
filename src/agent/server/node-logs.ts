// The node's log folder, as upstream's kubelet serves it at /logs/ (`kubectl get --raw
// /api/v1/nodes/NODE/proxy/logs/` lists /var/log, `…/logs/syslog` reads one file): a folder is
// Go's http.FileServer listing (a <pre> of links, folders with a trailing slash), a file its
// bytes. Only the API server may call the agent (auth.ts), and nothing outside the folder is
// served: `..` and symbolic links that lead out of it are a 404, as a missing file is.
import { readdirSync, realpathSync, statSync } from "node:fs";
import { join, sep } from "node:path";

export const NODE_LOG_DIR = "/var/log";

const notFound = () => new Response("404 page not found\n", { status: 404, headers: { "content-type": "text/plain; charset=utf-8" } });
const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `rest` is the request path after "/logs", still percent-encoded. */
export function nodeLogs(root: string, rest: string): Response {
  if (rest === "") return new Response(null, { status: 301, headers: { location: "/logs/" } });
  let relative: string;
  let base: string;
  let real: string;
  try {
    relative = decodeURIComponent(rest);
    base = realpathSync(root);
    real = realpathSync(join(base, relative));
  } catch {
    return notFound();
  }
  if (real !== base && !real.startsWith(base + sep)) return notFound();
  const stat = statSync(real, { throwIfNoEntry: false });
  if (!stat) return notFound();
  if (!stat.isDirectory()) return new Response(Bun.file(real), { headers: { "content-type": Bun.file(real).type || "application/octet-stream" } });
  // As Go's FileServer: a folder without its slash is sent to the name with one, relative, so it
  // resolves the same behind any proxy path.
  if (!rest.endsWith("/")) return new Response(null, { status: 301, headers: { location: `${rest.split("/").pop()}/` } });
  let entries: { name: string; dir: boolean }[];
  try {
    entries = readdirSync(real, { withFileTypes: true }).map((d) => ({ name: d.name, dir: d.isDirectory() }));
  } catch {
    return notFound();
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const lines = entries.map(({ name, dir }) => {
    const shown = dir ? `${name}/` : name;
    return `<a href="${escapeHtml(encodeURIComponent(name) + (dir ? "/" : ""))}">${escapeHtml(shown)}</a>\n`;
  });
  return new Response(`<pre>\n${lines.join("")}</pre>\n`, { headers: { "content-type": "text/html; charset=utf-8" } });
}
