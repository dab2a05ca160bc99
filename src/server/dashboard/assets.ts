// The dashboard's files, inlined into the binary by the bundler (imported as text). logic.ts is
// TypeScript shared with its unit tests; the browser gets it with the types stripped.
import index from "./assets/index.html" with { type: "text" };
import css from "./assets/dashboard.css" with { type: "text" };
import app from "./assets/app.js" with { type: "text" };
// @ts-expect-error: imported as text, not as the module it also is (the unit tests import that).
import logicSource from "./assets/logic.ts" with { type: "text" };

export interface Asset {
  body: string;
  type: string;
}

/** Built on the first request, so a server nobody opens the dashboard on pays nothing. */
export function dashboardAssets(): Map<string, Asset> {
  const js = "text/javascript; charset=utf-8";
  const logic = new Bun.Transpiler({ loader: "ts", target: "browser" }).transformSync(logicSource as string);
  return new Map([
    ["index.html", { body: index as unknown as string, type: "text/html; charset=utf-8" }],
    ["dashboard.css", { body: css, type: "text/css; charset=utf-8" }],
    ["app.js", { body: app, type: js }],
    ["logic.js", { body: logic, type: js }],
  ]);
}
