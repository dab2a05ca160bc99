import { expect, test } from "bun:test";
import { Hono } from "hono";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dashboardRoutes } from "./routes";

const app = new Hono({ strict: false });
dashboardRoutes(app);
const get = (path: string, method = "GET") => app.fetch(new Request(`https://server${path}`, { method }));

test("the page and its assets are served with a strict CSP, never framed", async () => {
  for (const [path, type] of [
    ["/dashboard/", "text/html"],
    ["/dashboard/app.js", "text/javascript"],
    ["/dashboard/logic.js", "text/javascript"],
    ["/dashboard/dashboard.css", "text/css"],
  ] as const) {
    const r = await get(path);
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toStartWith(type);
    expect(r.headers.get("content-security-policy")).toContain("script-src 'self'");
    expect(r.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(r.headers.get("x-frame-options")).toBe("DENY");
    expect(r.headers.get("x-content-type-options")).toBe("nosniff");
  }
  const html = await (await get("/dashboard/")).text();
  expect(html).toContain('<script type="module" src="/dashboard/app.js">');
  // No inline script or style: the CSP would refuse them.
  expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  expect(html).not.toMatch(/\sstyle=/);
});

test("logic.js is the TypeScript module with its types stripped", async () => {
  const js = await (await get("/dashboard/logic.js")).text();
  expect(js).toContain("export function nodeBin");
  expect(js).not.toContain(": Amount");
  // It runs as a module on its own.
  const dir = mkdtempSync(join(tmpdir(), "dashboard-logic-"));
  try {
    writeFileSync(join(dir, "logic.js"), js);
    const mod = await import(join(dir, "logic.js"));
    expect(mod.cpuMillis("250m")).toBe(250);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("/dashboard redirects to /dashboard/; unknown files are 404; HEAD has no body", async () => {
  const r = await get("/dashboard");
  expect(r.status).toBe(301);
  expect(r.headers.get("location")).toBe("/dashboard/");
  expect((await get("/dashboard/secret.txt")).status).toBe(404);
  expect((await get("/dashboard/..%2Fserver.ts")).status).toBe(404);
  const head = await get("/dashboard/app.js", "HEAD");
  expect(head.status).toBe(200);
  expect(await head.text()).toBe("");
});
