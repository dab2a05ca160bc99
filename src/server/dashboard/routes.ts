// The web dashboard: static assets only, served at /dashboard/ without authentication. The page
// asks for a bearer token and calls the API from the browser with it, so every view is what that
// token's RBAC allows; this route holds no credential and proxies nothing.
import type { Hono } from "hono";
import { dashboardAssets, type Asset } from "./assets";

export const DASHBOARD_PATH = "/dashboard";

/**
 * Only same-origin scripts, styles and calls; no inline script or style attributes to inject
 * into; never framed (clickjacking). Requests to the API carry the token in a header the page
 * sets itself, never a cookie, so another site cannot make the browser send it (no CSRF).
 */
export const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy":
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "cache-control": "no-cache",
};

export const isDashboardPath = (pathname: string) => pathname === DASHBOARD_PATH || pathname.startsWith(`${DASHBOARD_PATH}/`);

export function dashboardRoutes(app: Hono<any>): void {
  let assets: Map<string, Asset> | undefined;
  const serve = (file: string, method: string) => {
    assets ??= dashboardAssets();
    const a = assets.get(file);
    if (!a) return undefined;
    return new Response(method === "HEAD" ? null : a.body, { headers: { "content-type": a.type, ...SECURITY_HEADERS } });
  };
  app.on(["GET", "HEAD"], [DASHBOARD_PATH, `${DASHBOARD_PATH}/`, `${DASHBOARD_PATH}/:file`], (c) => {
    const url = new URL(c.req.url);
    if (url.pathname === DASHBOARD_PATH) return new Response(null, { status: 301, headers: { location: `${DASHBOARD_PATH}/`, ...SECURITY_HEADERS } });
    const file = c.req.param("file") ?? "index.html";
    return serve(file, c.req.method) ?? new Response("404 page not found\n", { status: 404, headers: { "content-type": "text/plain; charset=utf-8", ...SECURITY_HEADERS } });
  });
}
