// Headless Chromium driven over the Chrome DevTools protocol (a WebSocket to one page), for the
// tests of the web dashboard: navigate, evaluate, wait for the page, take screenshots.
import type { Subprocess } from "bun";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { testEnv } from "./env";

export interface Page {
  /** Evaluates an expression in the page (promises awaited); returns its JSON value. */
  evaluate<T = unknown>(expression: string): Promise<T>;
  navigate(url: string): Promise<void>;
  /** Polls the expression until it is truthy; the timeout's error names it and the page's text. */
  waitFor<T = unknown>(what: string, expression: string, timeoutMs?: number): Promise<T>;
  screenshot(path: string): Promise<void>;
  /**
   * Answers the page's requests whose URL matches the pattern (CDP's wildcards) with the JSON the
   * function returns, instead of the server.
   */
  intercept(urlPattern: string, answer: (url: string) => Promise<unknown>): Promise<void>;
  /** The viewport, as a phone (mobile) or a desktop. */
  viewport(width: number, height: number, mobile?: boolean): Promise<void>;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<Page> {
  const profile = mkdtempSync(join(tmpdir(), "bramble-chromium-"));
  const args = [
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-dev-shm-usage",
    // The test server's certificate is signed by its own throwaway CA.
    "--ignore-certificate-errors",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
    `--user-data-dir=${profile}`,
    ...(process.getuid?.() === 0 ? ["--no-sandbox"] : []),
    "about:blank",
  ];
  const proc: Subprocess<"ignore", "ignore", "pipe"> = Bun.spawn(["chromium", ...args], { stdin: "ignore", stdout: "ignore", stderr: "pipe", env: testEnv() });
  let stderr = "";
  const decoder = new TextDecoder();
  const reader = proc.stderr.getReader();
  const browserWs = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chromium did not start:\n${stderr}`)), 20_000);
    void (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return reject(new Error(`chromium exited:\n${stderr}`));
        stderr += decoder.decode(value);
        const m = /DevTools listening on (ws:\/\/\S+)/.exec(stderr);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
          // Keep draining so chromium never blocks on a full pipe.
          for (;;) if ((await reader.read()).done) return;
        }
      }
    })();
  });
  const port = new URL(browserWs).port;
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
  const target = targets.find((t) => t.type === "page");
  if (!target) throw new Error("chromium has no page");

  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("could not connect to chromium's page"));
  });
  let nextId = 1;
  const pending = new Map<number, { resolve(v: any): void; reject(e: Error): void }>();
  const listeners = new Set<(method: string, params: any) => void>();
  ws.onmessage = (ev) => {
    const msg = JSON.parse(String(ev.data));
    if (msg.id !== undefined) {
      const p = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) p?.reject(new Error(`${msg.error.message}${msg.error.data ? `: ${msg.error.data}` : ""}`));
      else p?.resolve(msg.result);
    } else for (const l of listeners) l(msg.method, msg.params);
  };
  const send = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<any>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      ws.send(JSON.stringify({ id, method, params }));
    });
  await send("Page.enable");
  await send("Runtime.enable");

  const evaluate = async <T>(expression: string): Promise<T> => {
    const r = await send("Runtime.evaluate", { expression, awaitPromise: true, returnByValue: true });
    if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
    return r.result.value as T;
  };
  const page: Page = {
    evaluate,
    async navigate(url) {
      const loaded = new Promise<void>((resolve) => {
        const l = (method: string) => {
          if (method !== "Page.loadEventFired") return;
          listeners.delete(l);
          resolve();
        };
        listeners.add(l);
      });
      const r = await send("Page.navigate", { url });
      if (r.errorText) throw new Error(`navigating to ${url}: ${r.errorText}`);
      await loaded;
    },
    async waitFor<T>(what: string, expression: string, timeoutMs = 15_000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const v = await evaluate<T>(expression).catch(() => undefined);
        if (v) return v;
        if (Date.now() > deadline) {
          const text = await evaluate<string>("document.body.innerText").catch((e) => String(e));
          throw new Error(`timed out waiting for ${what}; the page shows:\n${text}`);
        }
        await Bun.sleep(100);
      }
    },
    async screenshot(path) {
      const r = await send("Page.captureScreenshot", { format: "png", captureBeyondViewport: false });
      writeFileSync(path, Buffer.from(r.data, "base64"));
    },
    async intercept(urlPattern, answer) {
      listeners.add((method, params) => {
        if (method !== "Fetch.requestPaused") return;
        void answer(params.request.url).then((body) =>
          send("Fetch.fulfillRequest", {
            requestId: params.requestId,
            responseCode: 200,
            responseHeaders: [{ name: "content-type", value: "application/json" }],
            body: Buffer.from(JSON.stringify(body)).toString("base64"),
          }),
        );
      });
      await send("Fetch.enable", { patterns: [{ urlPattern }] });
    },
    async viewport(width, height, mobile = false) {
      await send("Emulation.setDeviceMetricsOverride", { width, height, deviceScaleFactor: 1, mobile });
    },
    async close() {
      ws.close();
      proc.kill("SIGKILL");
      await proc.exited;
      rmSync(profile, { recursive: true, force: true });
    },
  };
  return page;
}
