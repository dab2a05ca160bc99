import { describe, expect, test } from "bun:test";
import { ApiError } from "../../../api/errors";
import { decodeKubernetesProtobuf } from "./index";
import { MESSAGES } from "./messages";

// A tiny protobuf encoder, enough to build the bodies kubectl sends by hand.
const enc = new TextEncoder();
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, (o += p.length) - p.length);
  return out;
};
function varintBytes(v: number | bigint): Uint8Array {
  let n = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do {
    const b = Number(n & 0x7fn);
    n >>= 7n;
    out.push(n ? b | 0x80 : b);
  } while (n);
  return Uint8Array.from(out);
}
const tag = (field: number, wire: number) => varintBytes((field << 3) | wire);
const int = (field: number, v: number | bigint | boolean) => cat(tag(field, 0), varintBytes(typeof v === "boolean" ? (v ? 1 : 0) : v));
const bytes = (field: number, b: Uint8Array) => cat(tag(field, 2), varintBytes(b.length), b);
const str = (field: number, s: string) => bytes(field, enc.encode(s));
const msg = (field: number, ...parts: Uint8Array[]) => bytes(field, cat(...parts));
const mapOf = (field: number, m: Record<string, string | Uint8Array>) =>
  cat(...Object.entries(m).map(([k, v]) => msg(field, str(1, k), typeof v === "string" ? str(2, v) : bytes(2, v))));
const MAGIC = Uint8Array.from([0x6b, 0x38, 0x73, 0x00]);
const envelope = (apiVersion: string, kind: string, raw: Uint8Array) =>
  cat(MAGIC, msg(1, str(1, apiVersion), str(2, kind)), bytes(2, raw), str(3, ""), str(4, "application/vnd.kubernetes.protobuf"));

// ObjectMeta as upstream writes it: every non-pointer field, creationTimestamp as an empty Time.
const objectMeta = (name: string, namespace = "", extra: Uint8Array[] = []) =>
  msg(1, str(1, name), str(2, ""), str(3, namespace), str(4, ""), str(5, ""), str(6, ""), int(7, 0), msg(8), ...extra);
const intOrString = (field: number, v: number | string) => (typeof v === "number" ? msg(field, int(1, 0), int(2, v), str(3, "")) : msg(field, int(1, 1), int(2, 0), str(3, v)));
const quantity = (field: number, s: string) => msg(field, str(1, s));
const resourceList = (field: number, m: Record<string, string>) => cat(...Object.entries(m).map(([k, v]) => msg(field, str(1, k), quantity(2, v))));

const decodeError = (body: Uint8Array) => {
  try {
    decodeKubernetesProtobuf(body);
  } catch (e) {
    return e;
  }
  return undefined;
};
const expectBadRequest = (body: Uint8Array) => {
  const e = decodeError(body);
  expect(e).toBeInstanceOf(ApiError);
  expect((e as ApiError).code).toBe(400);
};

describe("decodeKubernetesProtobuf", () => {
  test("ConfigMap: data, binaryData as base64, omitted empty fields, null creationTimestamp", () => {
    const raw = cat(objectMeta("c", "x", [mapOf(11, { app: "web" })]), mapOf(2, { a: "b", "": "empty-key" }), mapOf(3, { bin: Uint8Array.from([0, 1, 255]) }));
    expect(decodeKubernetesProtobuf(envelope("v1", "ConfigMap", raw))).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "c", namespace: "x", creationTimestamp: null, labels: { app: "web" } },
      data: { a: "b", "": "empty-key" },
      binaryData: { bin: "AAH/" },
    });
  });

  test("strings: UTF-8, short and long", () => {
    const long = "ü".repeat(100) + "x".repeat(100);
    const raw = cat(objectMeta("c"), mapOf(2, { "héllo": "✓", long, plain: "x".repeat(200) }));
    expect(decodeKubernetesProtobuf(envelope("v1", "ConfigMap", raw)).data).toEqual({ "héllo": "✓", long, plain: "x".repeat(200) });
  });

  test("Namespace: empty spec and status are objects, as in JSON", () => {
    const raw = cat(objectMeta("x"), msg(2), msg(3));
    expect(decodeKubernetesProtobuf(envelope("v1", "Namespace", raw))).toEqual({
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "x", creationTimestamp: null },
      spec: {},
      status: {},
    });
  });

  test("Secret: bytes data as base64, type kept, immutable kept even when false (a pointer)", () => {
    const raw = cat(objectMeta("s", "default"), mapOf(2, { p: "q", bin: Uint8Array.from([0xde, 0xad]) }), str(3, "Opaque"), int(5, false));
    expect(decodeKubernetesProtobuf(envelope("v1", "Secret", raw))).toEqual({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "s", namespace: "default", creationTimestamp: null },
      data: { p: Buffer.from("q").toString("base64"), bin: "3q0=" },
      type: "Opaque",
      immutable: false,
    });
  });

  test("Deployment: template with containers, ports, env, resources, IntOrString, Quantity", () => {
    const container = cat(
      str(1, "busybox"),
      str(2, "busybox:1.36"),
      str(3, "sleep"),
      str(3, "10"),
      str(5, ""),
      msg(6, str(1, ""), int(2, 0), int(3, 80), str(4, "TCP"), str(5, "")),
      msg(7, str(1, "A"), str(2, "1")),
      msg(7, str(1, "B"), str(2, "")),
      msg(8, resourceList(1, { memory: "64Mi" }), resourceList(2, { cpu: "250m", memory: "32Mi" })),
      str(13, ""),
      str(14, ""),
      int(16, false),
      int(17, false),
      int(18, false),
    );
    const podSpec = cat(msg(2, container), str(3, ""), str(6, ""), int(11, false), int(12, false), int(13, false), str(19, ""));
    const template = cat(msg(1, str(1, ""), int(7, 0), msg(8), mapOf(11, { app: "d" })), msg(2, podSpec));
    const strategy = msg(4, str(1, "RollingUpdate"), msg(2, intOrString(1, "25%"), intOrString(2, 1)));
    const spec = cat(int(1, 2), msg(2, mapOf(1, { app: "d" })), msg(3, template), strategy, int(5, 0), int(7, false));
    const raw = cat(objectMeta("d", "default", [mapOf(11, { app: "d" })]), msg(2, spec), msg(3));
    expect(decodeKubernetesProtobuf(envelope("apps/v1", "Deployment", raw))).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "d", namespace: "default", creationTimestamp: null, labels: { app: "d" } },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "d" } },
        template: {
          metadata: { creationTimestamp: null, labels: { app: "d" } },
          spec: {
            containers: [
              {
                name: "busybox",
                image: "busybox:1.36",
                command: ["sleep", "10"],
                ports: [{ containerPort: 80, protocol: "TCP" }],
                env: [{ name: "A", value: "1" }, { name: "B" }],
                resources: { limits: { memory: "64Mi" }, requests: { cpu: "250m", memory: "32Mi" } },
              },
            ],
          },
        },
        strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: 1 } },
      },
      status: {},
    });
  });

  test("Pod: probes inline their handler, negative and int64 numbers, times", () => {
    const httpGet = msg(2, str(1, "/healthz"), intOrString(2, "http"), str(3, ""), str(4, "HTTP"));
    const liveness = msg(10, msg(1, httpGet), int(2, 5), int(3, 0), int(4, 10), int(5, 0), int(6, 3), int(7, 30));
    const readiness = msg(11, msg(1, msg(1, str(1, "cat"), str(1, "/ready"))), int(2, 0));
    const container = cat(str(1, "app"), str(2, "nginx"), liveness, readiness);
    const seconds = Date.UTC(2026, 0, 2, 3, 4, 5) / 1000;
    const status = cat(str(1, "Running"), msg(2, str(1, "Ready"), str(2, "True"), msg(4, int(1, seconds), int(2, 123_456_789))), msg(7, int(1, seconds)));
    const spec = cat(msg(2, container), int(4, -1n), int(5, 1n << 40n), str(10, "node-1"));
    const raw = cat(objectMeta("p", "default"), msg(2, spec), msg(3, status));
    const pod = decodeKubernetesProtobuf(envelope("v1", "Pod", raw));
    expect(pod.spec).toEqual({
      containers: [
        {
          name: "app",
          image: "nginx",
          livenessProbe: { httpGet: { path: "/healthz", port: "http", scheme: "HTTP" }, initialDelaySeconds: 5, periodSeconds: 10, failureThreshold: 3, terminationGracePeriodSeconds: 30 },
          readinessProbe: { exec: { command: ["cat", "/ready"] } },
        },
      ],
      terminationGracePeriodSeconds: -1,
      activeDeadlineSeconds: 2 ** 40,
      nodeName: "node-1",
    });
    expect(pod.status).toEqual({
      phase: "Running",
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2026-01-02T03:04:05Z" }],
      startTime: "2026-01-02T03:04:05Z",
    });
  });

  test("Lease: MicroTime keeps microseconds", () => {
    const seconds = Date.UTC(2026, 0, 2, 3, 4, 5) / 1000;
    const raw = cat(objectMeta("n1", "kube-node-lease"), msg(2, str(1, "n1"), int(2, 40), msg(4, int(1, seconds), int(2, 5_000))));
    expect(decodeKubernetesProtobuf(envelope("coordination.k8s.io/v1", "Lease", raw)).spec).toEqual({
      holderIdentity: "n1",
      leaseDurationSeconds: 40,
      renewTime: "2026-01-02T03:04:05.000005Z",
    });
  });

  test("DeleteOptions in any group version, with preconditions and dryRun", () => {
    const raw = cat(int(1, 0), msg(2, str(1, "uid-1")), str(4, "Foreground"), str(5, "All"));
    for (const apiVersion of ["v1", "apps/v1", "meta.k8s.io/v1"])
      expect(decodeKubernetesProtobuf(envelope(apiVersion, "DeleteOptions", raw))).toEqual({
        apiVersion,
        kind: "DeleteOptions",
        gracePeriodSeconds: 0,
        preconditions: { uid: "uid-1" },
        propagationPolicy: "Foreground",
        dryRun: ["All"],
      });
  });

  test("a map key named __proto__ is data, never the map's prototype", () => {
    const raw = cat(objectMeta("c", "x"), mapOf(2, { ["__proto__"]: "v", constructor: "w" }));
    const cm = decodeKubernetesProtobuf(envelope("v1", "ConfigMap", raw)) as { data: Record<string, string> };
    expect(Object.keys(cm.data)).toEqual(["__proto__", "constructor"]);
    expect(Object.getPrototypeOf(cm.data)).toBe(Object.prototype);
    expect(JSON.stringify(cm.data)).toBe('{"__proto__":"v","constructor":"w"}');
  });

  test("Eviction, Binding and Scale", () => {
    const eviction = cat(objectMeta("p", "default"), msg(2, int(1, 30)));
    expect(decodeKubernetesProtobuf(envelope("policy/v1", "Eviction", eviction))).toMatchObject({ metadata: { name: "p" }, deleteOptions: { gracePeriodSeconds: 30 } });
    const binding = cat(objectMeta("p", "default"), msg(2, str(1, "Node"), str(3, "n1"), str(7, "")));
    expect(decodeKubernetesProtobuf(envelope("v1", "Binding", binding)).target).toEqual({ kind: "Node", name: "n1" });
    const scale = cat(objectMeta("d", "default"), msg(2, int(1, 3)), msg(3, int(1, 0), str(2, "")));
    expect(decodeKubernetesProtobuf(envelope("autoscaling/v1", "Scale", scale))).toMatchObject({ spec: { replicas: 3 }, status: { replicas: 0 } });
  });

  test("packed repeated numbers and unknown fields (newer upstream) are accepted", () => {
    // SecurityContext capabilities are strings; use PodSecurityContext.supplementalGroups (int64).
    const packed = cat(tag(4, 2), varintBytes(3), varintBytes(1), varintBytes(2), varintBytes(3));
    const unknown = cat(int(999, 7), str(998, "x"), cat(tag(997, 1), new Uint8Array(8)), cat(tag(996, 5), new Uint8Array(4)));
    const spec = cat(msg(14, packed, int(4, 4), unknown), unknown);
    const pod = decodeKubernetesProtobuf(envelope("v1", "Pod", cat(objectMeta("p"), msg(2, spec), unknown)));
    expect(pod.spec).toEqual({ securityContext: { supplementalGroups: [1, 2, 3, 4] } });
  });

  test("every message referenced by a field has a table or is handled by code", () => {
    const special = ["meta.Time", "meta.MicroTime", "meta.FieldsV1", "intstr.IntOrString", "resource.Quantity", "runtime.RawExtension", "apiextensions.JSON", "apiextensions.JSONSchemaPropsOrArray", "apiextensions.JSONSchemaPropsOrBool"];
    for (const [name, fields] of Object.entries(MESSAGES))
      for (const f of fields) {
        const type = f.split(" ")[2]!.replace(/^[[{]/, "").replace(/[\]}]$/, "").split(":").pop()!;
        if (/^(string|bool|int32|int64|bytes|double)$/.test(type)) continue;
        expect(type in MESSAGES || special.includes(type), `${name}: ${f}`).toBe(true);
      }
  });

  describe("malformed input is a 400, never a crash", () => {
    const good = envelope("v1", "ConfigMap", cat(objectMeta("c"), mapOf(2, { a: "b" })));
    test("bad or missing magic", () => {
      expectBadRequest(new Uint8Array(0));
      expectBadRequest(enc.encode('{"kind":"ConfigMap"}'));
      expectBadRequest(good.subarray(1));
    });
    test("every truncation of a valid body", () => {
      for (let n = 4; n < good.length; n++) {
        const e = decodeError(good.subarray(0, n));
        // A cut exactly between two fields is a shorter valid message; anything else must be a 400.
        if (e !== undefined) expect((e as ApiError).code).toBe(400);
      }
    });
    test("truncated and over-long varints", () => {
      expectBadRequest(cat(MAGIC, Uint8Array.from([0x0a, 0xff])));
      expectBadRequest(cat(MAGIC, Uint8Array.from([0x0a, ...new Array(11).fill(0xff), 0x01])));
    });
    test("lengths past the end, wrong wire types, field number 0, groups", () => {
      expectBadRequest(cat(MAGIC, Uint8Array.from([0x0a, 0x7f, 0x00])));
      expectBadRequest(envelope("v1", "ConfigMap", int(1, 5))); // metadata as a varint
      expectBadRequest(envelope("v1", "ConfigMap", cat(objectMeta("c"), int(2, 1)))); // data as a varint
      expectBadRequest(envelope("v1", "ConfigMap", Uint8Array.from([0x00, 0x01])));
      expectBadRequest(envelope("v1", "ConfigMap", cat(tag(9, 3), tag(9, 4))));
    });
    test("unknown kinds, missing kind, content encodings", () => {
      expectBadRequest(envelope("v1", "PodSpec", new Uint8Array(0)));
      expectBadRequest(envelope("example.com/v1", "Widget", new Uint8Array(0)));
      expectBadRequest(envelope("", "", new Uint8Array(0)));
      expectBadRequest(cat(MAGIC, msg(1, str(1, "v1"), str(2, "ConfigMap")), str(3, "gzip")));
    });
    test("time out of range, FieldsV1 that is not JSON", () => {
      expectBadRequest(envelope("v1", "ConfigMap", msg(1, msg(8, int(1, 1n << 60n)))));
      expectBadRequest(envelope("v1", "ConfigMap", msg(1, msg(17, msg(7, bytes(1, enc.encode("{nope")))))));
    });
    test("random bytes after the magic", () => {
      let seed = 42;
      const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) >> 16) & 0xff;
      for (let i = 0; i < 500; i++) {
        const body = cat(MAGIC, Uint8Array.from({ length: 1 + (i % 64) }, rand));
        const e = decodeError(body);
        if (e !== undefined) expect((e as ApiError).code).toBe(400);
      }
      // Bit flips in a valid body reach deep into the tables.
      const pod = envelope("v1", "Pod", cat(objectMeta("p", "default", [mapOf(11, { a: "b" })]), msg(2, msg(2, str(1, "c"), msg(10, msg(1, msg(2, intOrString(2, 8080))), int(2, 5)), msg(8, resourceList(1, { cpu: "1" }))))));
      for (let i = 0; i < 2000; i++) {
        const body = pod.slice();
        body[4 + (rand() * 256 + rand()) % (body.length - 4)] ^= 1 << rand() % 8;
        const e = decodeError(body);
        if (e !== undefined) expect((e as ApiError).code).toBe(400);
      }
      // Random bytes inside a known kind exercise the table-driven decoder itself.
      for (let i = 0; i < 500; i++) {
        const e = decodeError(envelope("v1", "Pod", Uint8Array.from({ length: 1 + (i % 96) }, rand)));
        if (e !== undefined) expect((e as ApiError).code).toBe(400);
      }
    });
  });
});
