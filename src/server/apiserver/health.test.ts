import { expect, test } from "bun:test";
import { Hono } from "hono";
import { HealthChecks, withTimeout } from "./health";

function app(failing: Set<string>) {
  const checks = new HealthChecks()
    .add("ping", ["healthz", "livez", "readyz"], () => {})
    .add("etcd", ["livez", "readyz"], () => {
      if (failing.has("etcd")) throw new Error("the datastore did not answer");
    })
    .add("poststarthook/start-controllers", ["readyz"], async () => {
      if (failing.has("controllers")) throw new Error("waiting for the controller lease");
    });
  const a = new Hono();
  checks.serve(a);
  a.notFound(() => new Response("404 page not found", { status: 404 }));
  return async (path: string) => {
    const res = await a.fetch(new Request(`https://x${path}`));
    return { status: res.status, body: await res.text(), type: res.headers.get("content-type") };
  };
}

test("healthy: 'ok', or with ?verbose every check and '<endpoint> check passed'", async () => {
  const get = app(new Set());
  expect(await get("/readyz")).toEqual({ status: 200, body: "ok", type: "text/plain; charset=utf-8" });
  expect((await get("/readyz?verbose")).body).toBe("[+]ping ok\n[+]etcd ok\n[+]poststarthook/start-controllers ok\nreadyz check passed\n");
  expect((await get("/livez?verbose")).body).toBe("[+]ping ok\n[+]etcd ok\nlivez check passed\n");
  expect((await get("/healthz?verbose")).body).toBe("[+]ping ok\nhealthz check passed\n");
});

test("a failing check is a 500 listing every check, its reason withheld; its own path gives the reason", async () => {
  const get = app(new Set(["controllers"]));
  expect(await get("/readyz")).toEqual({
    status: 500,
    body: "[+]ping ok\n[+]etcd ok\n[-]poststarthook/start-controllers failed: reason withheld\nreadyz check failed\n",
    type: "text/plain; charset=utf-8",
  });
  expect(await get("/readyz/poststarthook/start-controllers")).toMatchObject({ status: 500, body: "internal server error: waiting for the controller lease\n" });
  expect(await get("/readyz/etcd")).toMatchObject({ status: 200, body: "ok" });
  // livez does not hold the controllers check: the process is alive while it waits.
  expect(await get("/livez")).toMatchObject({ status: 200, body: "ok" });
});

test("?exclude skips a check by name and warns about names that match none", async () => {
  const get = app(new Set(["controllers"]));
  const res = await get("/readyz?exclude=poststarthook/start-controllers&exclude=nope&verbose");
  expect(res.status).toBe(200);
  expect(res.body).toBe(
    '[+]ping ok\n[+]etcd ok\n[+]poststarthook/start-controllers excluded: ok\nwarn: some health checks cannot be excluded: no matches for "nope"\nreadyz check passed\n',
  );
});

test("an unknown check, or a check of another endpoint, is a 404; a malformed path is not a 500", async () => {
  const get = app(new Set());
  expect((await get("/readyz/nope")).status).toBe(404);
  expect((await get("/healthz/etcd")).status).toBe(404);
  expect((await get("/readyz/%zz")).status).toBe(404);
});

test("a check that hangs fails after its timeout", async () => {
  const hang = withTimeout(20, "did not answer within 20ms", () => new Promise<void>(() => {}));
  await expect(Promise.resolve(hang())).rejects.toThrow("did not answer within 20ms");
});

test("a name is registered once", () => {
  expect(() => new HealthChecks().add("ping", ["livez"], () => {}).add("ping", ["readyz"], () => {})).toThrow("already registered");
});
