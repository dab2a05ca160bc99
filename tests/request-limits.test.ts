// What a client may send and store, against a real `bramble server` over HTTPS:
// - a request body of at most 3 MiB, refused before it is read whole (declared or chunked);
// - an object of at most 1.5 MiB once decoded, on create, update, every patch type and dry runs,
//   whether the body was JSON, YAML (aliases included) or protobuf;
// - YAML whose aliases expand past go-yaml's budget is refused;
// - "__proto__" and "constructor" members in patches never reach the stored object;
// - a write to the scale or status subresource without a resourceVersion redoes itself on a
//   conflict (a controller writing status right after a create), as on the main resource.
// Every refusal is checked for its exact status, reason and message, and for writing nothing.
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync } from "node:fs";
import { startTestServer, type TestServer } from "./helpers/server";
import { missingCommand, requirements } from "../src/machinery/test-requirements";

setDefaultTimeout(60_000);

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s?.cleanup();
});

const JSON_TYPE = "application/json";
const YAML_TYPE = "application/yaml";
const PROTOBUF = "application/vnd.kubernetes.protobuf";
const MERGE = "application/merge-patch+json";
const STRATEGIC = "application/strategic-merge-patch+json";
const JSON_PATCH = "application/json-patch+json";
const MiB = 1024 * 1024;

const BODY_LIMIT_MESSAGE = "Request entity too large: limit is 3145728";
const OBJECT_LIMIT_MESSAGE = "etcdserver: request is too large";

interface Answer {
  status: number;
  body: any;
  headers: Headers;
}

async function send(method: string, path: string, body?: RequestInit["body"], contentType = JSON_TYPE, extra: Record<string, string> = {}): Promise<Answer> {
  const r = await s.fetch(path, { method, body, headers: { "content-type": contentType, ...extra } });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: the assertion on it will show the text
  }
  return { status: r.status, body: parsed, headers: r.headers };
}

const get = (path: string) => send("GET", path);

/** The answer is a metav1.Status with this code, reason and message. */
function expectStatus(a: Answer, code: number, reason: string, message: string) {
  expect({ status: a.status, kind: a.body?.kind, code: a.body?.code, reason: a.body?.reason, message: a.body?.message }).toEqual({ status: code, kind: "Status", code, reason, message });
}

async function expectAbsent(path: string) {
  expect((await get(path)).status).toBe(404);
}

const PODS = "/api/v1/namespaces/default/pods";
const DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments";

const pod = (name: string, args: string[] = ["sleep"]) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name },
  spec: { containers: [{ name: "c", image: "busybox", args }] },
});

/** About `bytes` of container args: fits a 3 MiB body, not a 1.5 MiB object. */
const bigArgs = (bytes: number) => Array.from({ length: Math.ceil(bytes / 1000) }, () => "a".repeat(1000));

const deployment = (name: string, replicas = 1) => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "c", image: "busybox" } as { name: string; image: string; args?: string[] }] } },
  },
});

// ---------------------------------------------------------------- protobuf, by hand

const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, (o += p.length) - p.length);
  return out;
};
function varint(v: number): Uint8Array {
  const out: number[] = [];
  do {
    const b = v % 128;
    v = Math.floor(v / 128);
    out.push(v ? b | 0x80 : b);
  } while (v);
  return Uint8Array.from(out);
}
const field = (n: number, b: Uint8Array) => cat(varint((n << 3) | 2), varint(b.length), b);
const str = (n: number, v: string) => field(n, new TextEncoder().encode(v));
/** A Pod as kubectl's typed client sends it: the k8s\0 envelope around Pod{metadata, spec{containers}}. */
function protobufPod(name: string, args: string[]): Uint8Array {
  const container = cat(str(1, "c"), str(2, "busybox"), ...args.map((a) => str(4, a)));
  const raw = cat(field(1, str(1, name)), field(2, field(2, container)));
  return cat(Uint8Array.from([0x6b, 0x38, 0x73, 0x00]), field(1, cat(str(1, "v1"), str(2, "Pod"))), field(2, raw), str(3, ""), str(4, PROTOBUF));
}

// ---------------------------------------------------------------- YAML aliases

/** A billion-laughs document under an unknown field of a Pod: 10^levels leaves. */
function laughs(name: string, levels: number): string {
  const lines = [`apiVersion: v1`, `kind: Pod`, `metadata: {name: ${name}}`, `spec: {containers: [{name: c, image: busybox}]}`, `x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]`];
  for (let i = 1; i <= levels; i++) lines.push(`x${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(", ")}]`);
  return lines.join("\n") + "\n";
}

/** A Pod of some tens of KB whose env is `count` aliases of one anchored entry: megabytes once expanded. */
function aliasedEnv(name: string, count: number): string {
  return [
    `apiVersion: v1`,
    `kind: Pod`,
    `metadata: {name: ${name}}`,
    `spec:`,
    `  containers:`,
    `  - name: c`,
    `    image: busybox`,
    `    env: [&e {name: E, value: "${"v".repeat(200)}"}, ${Array(count).fill("*e").join(", ")}]`,
  ].join("\n") + "\n";
}

/** A Pod whose containers share one anchored command: ordinary YAML. */
const sharedCommand = (name: string) =>
  `apiVersion: v1\nkind: Pod\nmetadata: {name: ${name}}\nspec:\n  containers:\n  - {name: c, image: busybox, command: &cmd [sh, -c, "sleep 1d"]}\n  - {name: d, image: busybox, command: *cmd}\n  - {name: e, image: busybox, command: *cmd}\n`;

// ---------------------------------------------------------------- the tests

describe("the request body is at most 3 MiB, checked before it is read whole", () => {
  test("a declared Content-Length over the limit: 413 before the body is looked at", async () => {
    const body = JSON.stringify(pod("declared", bigArgs(3.2 * MiB)));
    expect(body.length).toBeGreaterThan(3 * MiB);
    const a = await send("POST", PODS, body);
    expectStatus(a, 413, "RequestEntityTooLarge", BODY_LIMIT_MESSAGE);
    await expectAbsent(`${PODS}/declared`);
  });

  test("a chunked body (no Content-Length) is cut off at the limit", async () => {
    // 8 MiB of JSON, sent in 64 KiB chunks with no length up front.
    const chunk = new TextEncoder().encode(`"${"a".repeat(64 * 1024 - 3)}",`);
    let sent = 0;
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"chunked"},"spec":{"containers":[{"name":"c","image":"busybox","args":[`));
      },
      pull(c) {
        if (sent >= 8 * MiB) {
          c.enqueue(new TextEncoder().encode(`"end"]}]}}`));
          c.close();
          return;
        }
        sent += chunk.length;
        c.enqueue(chunk);
      },
    });
    const a = await send("POST", PODS, stream);
    expectStatus(a, 413, "RequestEntityTooLarge", BODY_LIMIT_MESSAGE);
    await expectAbsent(`${PODS}/chunked`);
  });

  test("the same for YAML and protobuf bodies and for patches", async () => {
    const yaml = `apiVersion: v1\nkind: Pod\nmetadata: {name: yaml-big}\nspec: {containers: [{name: c, image: busybox, args: [${bigArgs(3.2 * MiB).join(", ")}]}]}\n`;
    expectStatus(await send("POST", PODS, yaml, YAML_TYPE), 413, "RequestEntityTooLarge", BODY_LIMIT_MESSAGE);
    expectStatus(await send("POST", PODS, protobufPod("proto-big", bigArgs(3.2 * MiB)), PROTOBUF), 413, "RequestEntityTooLarge", BODY_LIMIT_MESSAGE);
    await expectAbsent(`${PODS}/yaml-big`);
    await expectAbsent(`${PODS}/proto-big`);
    expect((await send("POST", PODS, JSON.stringify(pod("patch-big")))).status).toBe(201);
    const patch = JSON.stringify({ metadata: { annotations: { a: "a".repeat(3.2 * MiB) } } });
    expectStatus(await send("PATCH", `${PODS}/patch-big`, patch, MERGE), 413, "RequestEntityTooLarge", BODY_LIMIT_MESSAGE);
  });
});

describe("an object is at most 1.5 MiB once decoded", () => {
  test("create from JSON, protobuf and YAML, with and without dryRun: 413, nothing stored", async () => {
    const args = bigArgs(2 * MiB);
    for (const query of ["", "?dryRun=All"]) {
      expectStatus(await send("POST", `${PODS}${query}`, JSON.stringify(pod("json-2mib", args))), 413, "RequestEntityTooLarge", OBJECT_LIMIT_MESSAGE);
      expectStatus(await send("POST", `${PODS}${query}`, protobufPod("proto-2mib", args), PROTOBUF), 413, "RequestEntityTooLarge", OBJECT_LIMIT_MESSAGE);
      const yaml = `apiVersion: v1\nkind: Pod\nmetadata: {name: yaml-2mib}\nspec: {containers: [{name: c, image: busybox, args: [${args.join(", ")}]}]}\n`;
      expectStatus(await send("POST", `${PODS}${query}`, yaml, YAML_TYPE), 413, "RequestEntityTooLarge", OBJECT_LIMIT_MESSAGE);
    }
    for (const name of ["json-2mib", "proto-2mib", "yaml-2mib"]) await expectAbsent(`${PODS}/${name}`);
    // Just under the limit is fine.
    expect((await send("POST", `${PODS}?dryRun=All`, JSON.stringify(pod("json-1mib", bigArgs(MiB))))).status).toBe(201);
  });

  test("YAML aliases: a 60 KB Pod that expands to megabytes is 413 (dry run too), without being expanded", async () => {
    const yaml = aliasedEnv("aliased", 10_000);
    expect(yaml.length).toBeLessThan(64 * 1024);
    for (const query of ["?dryRun=All", ""]) expectStatus(await send("POST", `${PODS}${query}`, yaml, YAML_TYPE), 413, "RequestEntityTooLarge", OBJECT_LIMIT_MESSAGE);
    await expectAbsent(`${PODS}/aliased`);
    // A few aliases are ordinary YAML.
    const ok = await send("POST", PODS, sharedCommand("few-aliases"), YAML_TYPE);
    expect(ok.status).toBe(201);
    expect(ok.body.spec.containers.map((c: { command: string[] }) => c.command)).toEqual(Array(3).fill(["sh", "-c", "sleep 1d"]));
  });

  test("YAML aliases past go-yaml's budget: 400 in its words", async () => {
    for (const query of ["?dryRun=All", ""]) expectStatus(await send("POST", `${PODS}${query}`, laughs("laughs", 6), YAML_TYPE), 400, "BadRequest", "yaml: document contains excessive aliasing");
    await expectAbsent(`${PODS}/laughs`);
    // The same shape with an unknown field at the top of an update, and in DeleteOptions.
    expect((await send("POST", PODS, JSON.stringify(pod("laughs-target")))).status).toBe(201);
    expectStatus(await send("PUT", `${PODS}/laughs-target`, laughs("laughs-target", 6), YAML_TYPE), 400, "BadRequest", "yaml: document contains excessive aliasing");
    expectStatus(await send("DELETE", `${PODS}/laughs-target`, `kind: DeleteOptions\nx0: &a0 [a, a, a, a, a, a, a, a, a, a]\n${[1, 2, 3, 4, 5, 6].map((i) => `x${i}: &a${i} [${Array(10).fill(`*a${i - 1}`).join(", ")}]`).join("\n")}\n`, YAML_TYPE), 400, "BadRequest", "yaml: document contains excessive aliasing");
    expect((await get(`${PODS}/laughs-target`)).status).toBe(200);
  });

  test("update, every patch type and their dry runs: 413, the stored object unchanged", async () => {
    const created = await send("POST", DEPLOYMENTS, JSON.stringify(deployment("grow")));
    expect(created.status).toBe(201);
    const args = bigArgs(2 * MiB);
    const big = deployment("grow");
    big.spec.template.spec.containers[0]!.args = args;
    const attempts: [string, string, string][] = [
      ["PUT", JSON_TYPE, JSON.stringify(big)],
      ["PATCH", MERGE, JSON.stringify({ spec: { template: { spec: { containers: [{ name: "c", image: "busybox", args }] } } } })],
      ["PATCH", STRATEGIC, JSON.stringify({ spec: { template: { spec: { containers: [{ name: "c", args }] } } } })],
      ["PATCH", JSON_PATCH, JSON.stringify([{ op: "add", path: "/spec/template/spec/containers/0/args", value: args }])],
    ];
    for (const [method, type, body] of attempts)
      for (const query of ["", "?dryRun=All"]) expectStatus(await send(method, `${DEPLOYMENTS}/grow${query}`, body, type), 413, "RequestEntityTooLarge", OBJECT_LIMIT_MESSAGE);
    const after = await get(`${DEPLOYMENTS}/grow`);
    expect(after.body.metadata.generation).toBe(1);
    expect(after.body.spec.template.spec.containers[0].args).toBeUndefined();
  });

  test("JSON patch copies: at most 3 MiB added by copying, and the result is checked too", async () => {
    const small = deployment("copies");
    small.spec.template.spec.containers[0]!.args = bigArgs(600 * 1024);
    expect((await send("POST", DEPLOYMENTS, JSON.stringify(small))).status).toBe(201);
    const ARGS = "/spec/template/spec/containers/0/args";
    // Each copy doubles the args: the copied bytes pass 3 MiB on the third.
    const doubling = [1, 2, 3, 4].map(() => ({ op: "copy", from: ARGS, path: `${ARGS}/0` }));
    const a = await send("PATCH", `${DEPLOYMENTS}/copies`, JSON.stringify(doubling), JSON_PATCH);
    expect({ status: a.status, reason: a.body.reason }).toEqual({ status: 422, reason: "Invalid" });
    expect(a.body.message).toMatch(/^Unable to complete the copy, the accumulated size increase of copy is \d+, exceeding the limit 3145728$/);
    // Two copies stay within the copy budget (1.2 MB) but make a 1.8 MB object: the store's limit.
    const twice = [
      { op: "copy", from: ARGS, path: "/spec/template/spec/containers/0/command" },
      { op: "add", path: "/spec/template/spec/containers/-", value: { name: "d", image: "busybox" } },
      { op: "copy", from: ARGS, path: "/spec/template/spec/containers/1/args" },
    ];
    for (const query of ["", "?dryRun=All"]) expectStatus(await send("PATCH", `${DEPLOYMENTS}/copies${query}`, JSON.stringify(twice), JSON_PATCH), 413, "RequestEntityTooLarge", OBJECT_LIMIT_MESSAGE);
    // One copy (1.2 MB) is fine.
    expect((await send("PATCH", `${DEPLOYMENTS}/copies?dryRun=All`, JSON.stringify(twice.slice(0, 1)), JSON_PATCH)).status).toBe(200);
    expect((await get(`${DEPLOYMENTS}/copies`)).body.metadata.generation).toBe(1);
  });
});

describe("decoding a body costs what the body is worth", () => {
  test("3 MB of small wrong items is refused after the first 1000 errors, with server RSS bounded", async () => {
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${s.proc.pid}/status`, "utf8"))![1]) / 1024;
    const before = rss();
    const env = Array.from({ length: 370_000 }, () => ({ n: 1 }));
    const body = JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: { name: "many-errors" }, spec: { containers: [{ name: "c", image: "busybox", env }] } });
    expect(body.length).toBeLessThan(3 * MiB);
    for (let i = 0; i < 3; i++) {
      const a = await send("POST", PODS, body);
      expect({ status: a.status, reason: a.body.reason }).toEqual({ status: 400, reason: "BadRequest" });
      expect(a.body.message).toStartWith('the object could not be decoded: more than 1000 errors, the first: unknown field "spec.containers[0].env[0].n"');
    }
    const after = rss();
    console.log(`server RSS ${before.toFixed(0)} MB before, ${after.toFixed(0)} MB after three 3 MB bodies of 740,000 errors each`);
    // Collecting every error would take gigabytes; the bound leaves room for a noisy machine.
    expect(after - before).toBeLessThan(1024);
    await expectAbsent(`${PODS}/many-errors`);
  });
});

describe("nesting deeper than 10000 levels is refused, never a crash", () => {
  const deepJson = (n: number) => '{"a":'.repeat(n) + "1" + "}".repeat(n);
  const JSON_TOO_DEEP = "the body of the request could not be decoded as JSON: exceeded max depth of 10000";

  test("create, every patch type and DeleteOptions: 400, not a stack overflow", async () => {
    const CM = "/api/v1/namespaces/default/configmaps";
    const created = await send("POST", CM, JSON.stringify({ metadata: { name: "deep" }, data: { a: "b" } }));
    expect(created.status).toBe(201);
    const rv = created.body.metadata.resourceVersion;
    const deep = deepJson(100_000);
    expectStatus(await send("POST", PODS, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"deep"},"x":${deep}}`), 400, "BadRequest", JSON_TOO_DEEP);
    for (const type of [MERGE, STRATEGIC]) expectStatus(await send("PATCH", `${CM}/deep`, `{"x":${deep}}`, type), 400, "BadRequest", JSON_TOO_DEEP);
    expectStatus(await send("PATCH", `${CM}/deep`, `[{"op":"add","path":"/x","value":${deep}}]`, JSON_PATCH), 400, "BadRequest", JSON_TOO_DEEP);
    expectStatus(await send("DELETE", `${CM}/deep`, `{"x":${deep}}`), 400, "BadRequest", JSON_TOO_DEEP);
    expectStatus(await send("POST", PODS, `apiVersion: v1\nkind: Pod\nmetadata: {name: deep}\nx: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`, YAML_TYPE), 400, "BadRequest", "the body of the request could not be decoded as YAML: it nests too deeply");
    await expectAbsent(`${PODS}/deep`);
    expect((await get(`${CM}/deep`)).body.metadata.resourceVersion).toBe(rv);
    // Just under the limit is decoded, and the unknown field dropped as usual.
    for (const type of [MERGE, STRATEGIC]) {
      const a = await send("PATCH", `${CM}/deep`, `{"x":${deepJson(9_990)}}`, type);
      expect({ status: a.status, warning: a.headers.get("warning") }).toEqual({ status: 200, warning: '299 - "unknown field \\"x\\""' });
    }
  });
});

describe("__proto__ and constructor members in patches never reach the stored object", () => {
  const BAD = [
    '{"__proto__":{"polluted":"yes"}}',
    '{"constructor":{"prototype":{"polluted":"yes"}}}',
    '{"metadata":{"__proto__":{"polluted":"yes"}}}',
    '{"spec":{"template":{"spec":{"__proto__":{"polluted":"yes"},"constructor":{"prototype":{"polluted":"yes"}}}}}}',
  ];
  const unknownOf: Record<string, string[]> = {
    [BAD[0]!]: ["__proto__"],
    [BAD[1]!]: ["constructor"],
    [BAD[2]!]: ["metadata.__proto__"],
    [BAD[3]!]: ["spec.template.spec.__proto__", "spec.template.spec.constructor"],
  };

  test("merge and strategic patches: dropped with a warning, or refused under Strict", async () => {
    const created = await send("POST", DEPLOYMENTS, JSON.stringify(deployment("proto")));
    expect(created.status).toBe(201);
    for (const type of [MERGE, STRATEGIC]) {
      for (const body of BAD) {
        const fields = unknownOf[body]!;
        // The patch changes a label too, so a write happens and its result can be read back.
        // (JSON.parse and spreading keep "__proto__" as an own member, as a client sends it.)
        const parsed = JSON.parse(body);
        parsed.metadata = { ...(parsed.metadata ?? {}), labels: { round: `${type.length}-${BAD.indexOf(body)}` } };
        const withProto = JSON.stringify(parsed);
        expect(withProto).toContain(body.includes("__proto__") ? '"__proto__":{"polluted":"yes"}' : '"constructor":{"prototype"');
        const strict = await send("PATCH", `${DEPLOYMENTS}/proto?fieldValidation=Strict`, withProto, type);
        expectStatus(strict, 400, "BadRequest", `strict decoding error: ${fields.map((f) => `unknown field "${f}"`).join(", ")}`);
        const warned = await send("PATCH", `${DEPLOYMENTS}/proto`, withProto, type);
        expect(warned.status).toBe(200);
        expect(warned.headers.get("warning")).toBe(fields.map((f) => `299 - "unknown field \\"${f}\\""`).join(", "));
        const stored = await s.fetch(`${DEPLOYMENTS}/proto`).then((r) => r.text());
        expect(stored).not.toContain("__proto__");
        expect(stored).not.toContain("constructor");
        expect(stored).not.toContain("polluted");
      }
    }
  });

  test("JSON patch: paths through __proto__ or constructor are refused, nothing written", async () => {
    const rv = (await get(`${DEPLOYMENTS}/proto`)).body.metadata.resourceVersion;
    const cases: [unknown[], number, string, string][] = [
      [[{ op: "add", path: "/__proto__/polluted", value: "yes" }], 422, "Invalid", 'add operation does not apply: doc is missing path: "/__proto__/polluted"'],
      [[{ op: "add", path: "/constructor/prototype/polluted", value: "yes" }], 422, "Invalid", 'add operation does not apply: doc is missing path: "/constructor/prototype/polluted"'],
      [[{ op: "replace", path: "/metadata/constructor", value: "yes" }], 422, "Invalid", 'replace operation does not apply: doc is missing path: "/metadata/constructor"'],
      [
        [{ op: "add", path: "/metadata/__proto__", value: { polluted: "yes" } }],
        400,
        "BadRequest",
        'invalid JSON patch: operation 0 ({"op":"add","path":"/metadata/__proto__","value":{"polluted":"yes"}}) goes through "__proto__" or "constructor/prototype", which are not allowed in a path',
      ],
    ];
    for (const [ops, code, reason, message] of cases) expectStatus(await send("PATCH", `${DEPLOYMENTS}/proto`, JSON.stringify(ops), JSON_PATCH), code, reason, message);
    // A member called "constructor" added by a patch is an unknown field like any other.
    const add = JSON.stringify([{ op: "add", path: "/metadata/constructor", value: { prototype: { polluted: "yes" } } }]);
    expectStatus(await send("PATCH", `${DEPLOYMENTS}/proto?fieldValidation=Strict`, add, JSON_PATCH), 400, "BadRequest", 'strict decoding error: unknown field "metadata.constructor"');
    expect((await get(`${DEPLOYMENTS}/proto`)).body.metadata.resourceVersion).toBe(rv);
  });

  test("where a key is data (a ConfigMap's), __proto__ is stored as an ordinary key", async () => {
    expect((await send("POST", "/api/v1/namespaces/default/configmaps", JSON.stringify({ metadata: { name: "proto-data" }, data: { a: "b" } }))).status).toBe(201);
    const patched = await send("PATCH", "/api/v1/namespaces/default/configmaps/proto-data", '{"data":{"__proto__":"value","constructor":"c"}}', MERGE);
    expect(patched.status).toBe(200);
    const stored = JSON.parse(await s.fetch("/api/v1/namespaces/default/configmaps/proto-data").then((r) => r.text()));
    expect(Object.keys(stored.data)).toEqual(["a", "__proto__", "constructor"]);
    expect(stored.data.__proto__).toBe("value");
  });
});

describe("scale and status right after create: writes without a resourceVersion redo themselves on conflict", () => {
  const RS = "/apis/apps/v1/namespaces/default/replicasets";
  const replicaSet = (name: string) => ({ ...deployment(name), kind: "ReplicaSet" });

  test("concurrent PATCHes of deployments/scale and replicasets/scale right after create all succeed", async () => {
    for (const [collection, make] of [[DEPLOYMENTS, deployment], [RS, replicaSet]] as const) {
      for (let round = 0; round < 3; round++) {
        const name = `scale-${collection === RS ? "rs" : "deploy"}-${round}`;
        expect((await send("POST", collection, JSON.stringify(make(name)))).status).toBe(201);
        const wanted = [2, 3, 4, 5, 6, 7, 8, 9];
        const answers = await Promise.all(
          wanted.map((n, i) => send("PATCH", `${collection}/${name}/scale`, JSON.stringify({ spec: { replicas: n } }), i % 2 ? MERGE : STRATEGIC)),
        );
        expect(answers.map((a) => `${a.status} ${a.body?.message ?? ""}`)).toEqual(wanted.map(() => "200 "));
        for (const [i, a] of answers.entries()) expect({ kind: a.body.kind, replicas: a.body.spec.replicas }).toEqual({ kind: "Scale", replicas: wanted[i] });
        expect(wanted).toContain((await get(`${collection}/${name}`)).body.spec.replicas);
        // PUT without a resourceVersion behaves the same.
        const puts = await Promise.all(wanted.map((n) => send("PUT", `${collection}/${name}/scale`, JSON.stringify({ apiVersion: "autoscaling/v1", kind: "Scale", metadata: { name }, spec: { replicas: n } }))));
        expect(puts.map((a) => a.status)).toEqual(wanted.map(() => 200));
      }
    }
  });

  test("a scale write that names a stale resourceVersion is still 409", async () => {
    const created = await send("POST", DEPLOYMENTS, JSON.stringify(deployment("scale-pinned")));
    const stale = created.body.metadata.resourceVersion;
    expect((await send("PATCH", `${DEPLOYMENTS}/scale-pinned/scale`, JSON.stringify({ spec: { replicas: 2 } }), MERGE)).status).toBe(200);
    const conflict = `Operation cannot be fulfilled on deployments.apps "scale-pinned": the object has been modified; please apply your changes to the latest version and try again`;
    expectStatus(await send("PATCH", `${DEPLOYMENTS}/scale-pinned/scale`, JSON.stringify({ metadata: { resourceVersion: stale }, spec: { replicas: 5 } }), MERGE), 409, "Conflict", conflict);
    expectStatus(await send("PUT", `${DEPLOYMENTS}/scale-pinned/scale`, JSON.stringify({ metadata: { name: "scale-pinned", resourceVersion: stale }, spec: { replicas: 5 } })), 409, "Conflict", conflict);
    expect((await get(`${DEPLOYMENTS}/scale-pinned`)).body.spec.replicas).toBe(2);
  });

  test("concurrent status PATCHes right after create succeed for every kind with a status", async () => {
    const kinds: [string, (name: string) => object, (i: number) => object][] = [
      [PODS, (n) => pod(n), (i) => ({ status: { message: `m-${i}` } })],
      [DEPLOYMENTS, (n) => deployment(n), (i) => ({ status: { observedGeneration: i + 1 } })],
      [RS, (n) => replicaSet(n), (i) => ({ status: { observedGeneration: i + 1 } })],
      ["/apis/apps/v1/namespaces/default/daemonsets", (n) => ({ ...deployment(n), kind: "DaemonSet", spec: { ...deployment(n).spec, replicas: undefined } }), (i) => ({ status: { observedGeneration: i + 1 } })],
      ["/api/v1/namespaces/default/services", (n) => ({ metadata: { name: n }, spec: { ports: [{ port: 80 }] } }), (i) => ({ status: { loadBalancer: { ingress: [{ ip: `10.0.0.${i + 1}` }] } } })],
      ["/api/v1/nodes", (n) => ({ metadata: { name: n } }), (i) => ({ status: { volumesInUse: [`v-${i}`] } })],
      ["/api/v1/namespaces", (n) => ({ metadata: { name: n } }), (i) => ({ status: { conditions: [{ type: "Test", status: "True", message: `m-${i}` }] } })],
    ];
    for (const [collection, make, status] of kinds) {
      const name = `status-${collection.split("/").pop()}`;
      const created = await send("POST", collection, JSON.stringify(make(name)));
      expect({ collection, status: created.status }).toEqual({ collection, status: 201 });
      const answers = await Promise.all([0, 1, 2, 3, 4, 5].map((i) => send("PATCH", `${collection}/${name}/status`, JSON.stringify(status(i)), i % 2 ? MERGE : STRATEGIC)));
      expect({ collection, answers: answers.map((a) => `${a.status} ${a.body?.message ?? ""}`) }).toEqual({ collection, answers: answers.map(() => "200 ") });
    }
  });

  test("pods/binding alongside concurrent status writes: bound once, every other write 2xx", async () => {
    for (const node of ["bind-x", "bind-y"]) expect((await send("POST", "/api/v1/nodes", JSON.stringify({ metadata: { name: node } }))).status).toBe(201);
    expect((await send("POST", PODS, JSON.stringify(pod("bind-race")))).status).toBe(201);
    const writes = [0, 1, 2, 3, 4, 5].map((i) => send("PATCH", `${PODS}/bind-race/status`, JSON.stringify({ status: { message: `m-${i}` } }), MERGE));
    const bind = (node: string) => send("POST", `${PODS}/bind-race/binding`, JSON.stringify({ apiVersion: "v1", kind: "Binding", metadata: { name: "bind-race" }, target: { kind: "Node", name: node } }));
    const answers = await Promise.all([...writes, bind("bind-x"), bind("bind-y")]);
    expect(answers.slice(0, 6).map((a) => a.status)).toEqual([200, 200, 200, 200, 200, 200]);
    // Two bindings at once: one wins, the other is refused on the fresh pod, never bound twice.
    const [x, y] = answers.slice(6);
    const winner = x!.status === 201 ? "bind-x" : "bind-y";
    const loser = winner === "bind-x" ? y! : x!;
    expect((winner === "bind-x" ? x! : y!).status).toBe(201);
    expectStatus(loser, 409, "Conflict", `Operation cannot be fulfilled on pods "bind-race": pod bind-race is already assigned to node "${winner}"`);
    expect((await get(`${PODS}/bind-race`)).body.spec.nodeName).toBe(winner);
  });

  test.skipIf(!!requirements("kubectl scale after create", missingCommand("kubectl")))("kubectl scale right after kubectl create, several at once", async () => {
    for (let i = 0; i < 2; i++) {
      const name = `kubectl-scale-${i}`;
      const created = await s.kubectlWith({ stdin: JSON.stringify(deployment(name)) }, "create", "-f", "-");
      expect({ code: created.code, stderr: created.stderr }).toEqual({ code: 0, stderr: "" });
      const scaled = await Promise.all([3, 4, 5].map((n) => s.kubectl("scale", `deployment/${name}`, `--replicas=${n}`)));
      for (const r of scaled) expect({ code: r.code, stdout: r.stdout.trim(), stderr: r.stderr }).toEqual({ code: 0, stdout: `deployment.apps/${name} scaled`, stderr: "" });
      expect([3, 4, 5]).toContain((await get(`${DEPLOYMENTS}/${name}`)).body.spec.replicas);
    }
  });
});
