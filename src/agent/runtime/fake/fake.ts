// An in-memory ContainerRuntime for unit tests. Containers "run" a tiny interpretation of their
// command — enough of `sh -c "echo ...; exit N"`, `true`, `false`, `env` and `sleep` for the
// contract suite and kubelet tests — and tests can make them exit, fail pulls, or script exec.
import { createHash, randomBytes } from "node:crypto";
import { PassThrough, Readable } from "node:stream";
import { gunzipSync } from "node:zlib";
import { readTarFiles } from "../../images/tar";
import {
  ImageInUseError,
  NotFoundError,
  NotRunningError,
  normalizeImageRef,
  type AttachOptions,
  type AttachSession,
  type ContainerInfo,
  type ContainerRuntime,
  type ContainerSpec,
  type ExecResult,
  type ExecSession,
  type ImageInfo,
  type ImageSummary,
  type LogOptions,
  type NetworkInfo,
  type NetworkSpec,
  type RegistryAuth,
  type RuntimeVersion,
} from "../runtime";

interface FakeImage {
  id: string;
  ref: string;
  entrypoint?: string[];
  cmd?: string[];
  sizeBytes: number;
  labels: Record<string, string>;
}

interface FakeContainer {
  info: ContainerInfo;
  spec: ContainerSpec;
  logs: string;
}

export type ExecHandler = (container: ContainerInfo, cmd: string[]) => ExecResult | Promise<ExecResult> | undefined;

const now = () => new Date().toISOString();
const sha = (s: string) => `sha256:${createHash("sha256").update(s).digest("hex")}`;

/** What running `argv` does in the fake: output, and an exit code unless it runs until stopped. */
function interpret(argv: string[], env: Record<string, string>): { out: string; exitCode?: number } {
  const [cmd, ...args] = argv;
  if (!cmd) return { out: "" };
  if (cmd === "sh" && args[0] === "-c") {
    let out = "";
    for (const stmt of (args[1] ?? "").split(/;|&&|\n/).map((s) => s.trim()).filter(Boolean)) {
      const r = interpret(stmt.split(/\s+/).map((w) => w.replace(/^["']|["']$/g, "")), env);
      out += r.out;
      if (r.exitCode === undefined || (r.exitCode !== 0 && !stmt.startsWith("exit"))) return { out, exitCode: r.exitCode };
      if (stmt.startsWith("exit")) return { out, exitCode: r.exitCode };
    }
    return { out, exitCode: 0 };
  }
  switch (cmd) {
    case "echo":
      return { out: `${args.join(" ")}\n`, exitCode: 0 };
    case "true":
      return { out: "", exitCode: 0 };
    case "false":
      return { out: "", exitCode: 1 };
    case "exit":
      return { out: "", exitCode: Number(args[0] ?? 0) };
    case "env":
      return { out: Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join(""), exitCode: 0 };
    default:
      return { out: "" }; // sleep, httpd, pause, ...: runs until stopped
  }
}

export class FakeRuntime implements ContainerRuntime {
  readonly containers = new Map<string, FakeContainer>();
  readonly images = new Map<string, FakeImage>();
  readonly networks = new Map<string, NetworkSpec & { next: number }>();
  /** Every mutating call, for assertions ("create c1", "start <id>", ...). */
  readonly calls: string[] = [];
  /** Image refs whose pulls fail (e.g. a missing image), with the error message. */
  readonly pullFailures = new Map<string, string>();
  readonly pulls: Array<{ ref: string; auth?: RegistryAuth }> = [];
  /** Scripted exec answers (probes); undefined falls back to interpreting the command. */
  execHandler?: ExecHandler;
  private bridgeNext = 2;
  /** What imageFsPath reports (none by default: the fake keeps no files). */
  imageFs?: string;

  constructor(images: string[] = []) {
    for (const ref of images) this.addImage(ref);
  }

  addImage(ref: string, entrypoint?: string[], cmd?: string[], extra: { sizeBytes?: number; labels?: Record<string, string> } = {}): void {
    const r = normalizeImageRef(ref);
    this.images.set(r, { id: sha(r), ref: r, entrypoint, cmd, sizeBytes: extra.sizeBytes ?? 1024, labels: { ...extra.labels } });
  }

  async version(): Promise<RuntimeVersion> {
    return { name: "fake", version: "0.0.1", apiVersion: "1.41", os: "linux", arch: "amd64", kernelVersion: "6.1.0-fake" };
  }

  async listContainers(labels: Record<string, string | undefined>): Promise<ContainerInfo[]> {
    return [...this.containers.values()]
      .filter((c) => Object.entries(labels).every(([k, v]) => (v === undefined ? k in c.info.labels : c.info.labels[k] === v)))
      .map((c) => structuredClone(c.info));
  }

  async inspectContainer(id: string): Promise<ContainerInfo> {
    return structuredClone(this.get(id).info);
  }

  private get(id: string): FakeContainer {
    const c = this.containers.get(id) ?? [...this.containers.values()].find((x) => x.info.name === id);
    if (!c) throw new NotFoundError(`container ${id} not found`);
    return c;
  }

  async createContainer(spec: ContainerSpec): Promise<string> {
    const image = this.images.get(normalizeImageRef(spec.image));
    if (!image) throw new NotFoundError(`image ${spec.image} not found`);
    if ([...this.containers.values()].some((c) => c.info.name === spec.name)) throw new Error(`container name ${spec.name} already in use`);
    const id = randomBytes(32).toString("hex");
    this.calls.push(`create ${spec.name}`);
    this.containers.set(id, {
      spec: structuredClone(spec),
      logs: "",
      info: { id, name: spec.name, image: spec.image, imageId: image.id, labels: { ...spec.labels }, state: "created", createdAt: now(), ips: {} },
    });
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const c = this.get(id);
    if (c.info.state === "running") return;
    const joined = c.spec.networkMode?.startsWith("container:") ? this.get(c.spec.networkMode.slice("container:".length)) : undefined;
    if (joined && joined.info.state !== "running") throw new Error(`cannot join network of a non running container: ${joined.info.id}`);
    if (c.spec.ipcMode?.startsWith("container:") && this.get(c.spec.ipcMode.slice("container:".length)).spec.ipcMode !== "shareable") {
      throw new Error("can't join IPC of container: non-shareable IPC"); // as Docker says
    }
    this.calls.push(`start ${c.info.name}`);
    c.info.state = "running";
    c.info.startedAt = now();
    c.info.finishedAt = undefined;
    c.info.exitCode = undefined;
    c.info.ips = this.addressFor(c.spec.networkMode);
    const image = this.images.get(normalizeImageRef(c.spec.image));
    const argv = [...(c.spec.entrypoint ?? image?.entrypoint ?? []), ...(c.spec.cmd ?? (c.spec.entrypoint ? [] : (image?.cmd ?? [])))];
    const r = interpret(argv, c.spec.env ?? {});
    c.logs += r.out;
    if (r.exitCode !== undefined) {
      // Exits "soon", like a real process, not before start() returns.
      setTimeout(() => this.exit(c.info.id, r.exitCode!), 5);
    }
  }

  private addressFor(mode: string | undefined): Record<string, string> {
    if (mode?.startsWith("container:") || mode === "none" || mode === "host") return {};
    const name = mode || "bridge";
    const net = this.networks.get(name);
    if (net) {
      const [a, b, c] = net.subnet.split("/")[0].split(".");
      return { [name]: `${a}.${b}.${c}.${net.next++}` };
    }
    return { [name]: `172.17.0.${this.bridgeNext++}` };
  }

  /** Test hook: the container's process exits with this code (e.g. a crash). */
  exit(id: string, exitCode: number, oomKilled = false): void {
    const c = this.containers.get(id);
    if (!c || c.info.state !== "running") return;
    c.info.state = "exited";
    c.info.exitCode = exitCode;
    c.info.oomKilled = oomKilled || undefined;
    c.info.finishedAt = now();
    c.info.ips = {};
  }

  async stopContainer(id: string, _timeoutSeconds: number): Promise<void> {
    const c = this.get(id);
    this.calls.push(`stop ${c.info.name}`);
    this.exit(c.info.id, 143);
  }

  async killContainer(id: string, signal = "SIGKILL"): Promise<void> {
    const c = this.containers.get(id);
    if (!c) return;
    this.calls.push(`kill ${c.info.name} ${signal}`);
    this.exit(id, signal === "SIGKILL" || signal === "KILL" ? 137 : 143);
  }

  async removeContainer(id: string): Promise<void> {
    const c = this.containers.get(id) ?? [...this.containers.values()].find((x) => x.info.name === id);
    if (!c) return;
    this.calls.push(`remove ${c.info.name}`);
    this.containers.delete(c.info.id);
  }

  async exec(id: string, cmd: string[]): Promise<ExecResult> {
    const c = this.get(id);
    if (c.info.state !== "running") throw new Error(`container ${id} is not running`);
    const scripted = await this.execHandler?.(structuredClone(c.info), cmd);
    if (scripted) return scripted;
    const r = interpret(cmd, c.spec.env ?? {});
    return { exitCode: r.exitCode ?? 0, stdout: r.out, stderr: "" };
  }

  async execStream(id: string, cmd: string[]): Promise<ExecSession> {
    const r = await this.exec(id, cmd);
    const stdout = new PassThrough();
    stdout.end(r.stdout);
    return { stdout, exitCode: Promise.resolve(r.exitCode) };
  }

  /** The fake process echoes its stdin (like `cat`), and the attach ends when its stdin does. */
  async attachStream(id: string, opts: AttachOptions): Promise<AttachSession> {
    const c = this.get(id);
    if (c.info.state !== "running") throw new NotRunningError(`container ${id} is not running`);
    const tty = !!c.spec.tty;
    const stdout = new PassThrough();
    const stdin = opts.stdin && c.spec.stdin ? new PassThrough() : undefined;
    stdin?.pipe(stdout);
    const ended = new Promise<void>((resolve) => stdout.once("close", resolve).once("end", resolve));
    if (!stdin) stdout.end();
    return { stdin, stdout, stderr: tty ? undefined : Readable.from([]), tty, ended };
  }

  async logs(id: string, opts: LogOptions = {}): Promise<Readable> {
    let lines = this.get(id).logs.split(/(?<=\n)/).filter(Boolean);
    if (opts.tail !== undefined) lines = opts.tail === 0 ? [] : lines.slice(-opts.tail);
    return Readable.from([lines.join("")]);
  }

  async imagePresent(ref: string): Promise<ImageInfo | undefined> {
    const i = this.images.get(normalizeImageRef(ref));
    return i && { id: i.id, repoTags: [i.ref], repoDigests: [] };
  }

  async pullImage(ref: string, auth?: RegistryAuth): Promise<void> {
    this.pulls.push({ ref, auth });
    const failure = this.pullFailures.get(ref);
    if (failure) throw new Error(failure);
    this.addImage(ref);
  }

  async importImage(tar: Readable | Uint8Array, ref: string, changes: string[] = []): Promise<void> {
    if (!(tar instanceof Uint8Array)) for await (const _ of tar);
    const entry = changes.find((c) => c.startsWith("ENTRYPOINT "));
    const cmd = changes.find((c) => c.startsWith("CMD "));
    this.addImage(ref, entry && JSON.parse(entry.slice(11)), cmd && JSON.parse(cmd.slice(4)));
  }

  async loadImage(tar: Readable | Uint8Array): Promise<string[]> {
    let bytes: Uint8Array;
    if (tar instanceof Uint8Array) bytes = tar;
    else {
      const chunks: Buffer[] = [];
      for await (const c of tar) chunks.push(Buffer.from(c));
      bytes = Buffer.concat(chunks);
    }
    if (bytes[0] === 0x1f && bytes[1] === 0x8b) bytes = gunzipSync(bytes);
    const manifest = readTarFiles(bytes).get("manifest.json");
    if (!manifest) throw new Error("not an image archive: no manifest.json");
    const refs = (JSON.parse(new TextDecoder().decode(manifest)) as Array<{ RepoTags?: string[] }>).flatMap((m) => m.RepoTags ?? []);
    for (const r of refs) this.addImage(r);
    return refs;
  }

  async removeImage(ref: string): Promise<void> {
    this.images.delete(normalizeImageRef(ref));
  }

  async listImages(): Promise<ImageSummary[]> {
    return [...this.images.values()].map((i) => ({ id: i.id, repoTags: [i.ref], repoDigests: [], sizeBytes: i.sizeBytes, labels: { ...i.labels } }));
  }

  async removeUnusedImage(id: string): Promise<void> {
    const user = [...this.containers.values()].find((c) => c.info.imageId === id);
    if (user) throw new ImageInUseError(`image ${id} is used by container ${user.info.id.slice(0, 12)}`);
    for (const [ref, i] of this.images) if (i.id === id) this.images.delete(ref);
    this.calls.push(`remove image ${id}`);
  }

  async imageFsPath(): Promise<string | undefined> {
    return this.imageFs;
  }

  async createNetwork(spec: NetworkSpec): Promise<string> {
    if (this.networks.has(spec.name)) throw new Error(`network with name ${spec.name} already exists`);
    this.networks.set(spec.name, { ...spec, next: 2 });
    return sha(spec.name).slice(7);
  }

  async removeNetwork(name: string, opts: { force?: boolean } = {}): Promise<void> {
    const users = this.attachedTo(name);
    if (users.length && !opts.force) throw new Error(`error while removing network: network ${name} has active endpoints`);
    for (const c of users) delete c.info.ips[name];
    this.networks.delete(name);
  }

  async inspectNetwork(name: string): Promise<NetworkInfo | undefined> {
    const n = this.networks.get(name);
    if (!n) return undefined;
    const [a, b, c] = n.subnet.split("/")[0].split(".");
    return {
      id: sha(name).slice(7),
      name,
      subnet: n.subnet,
      gateway: n.gateway ?? `${a}.${b}.${c}.1`,
      labels: { ...n.labels },
      options: { ...(n.bridge ? { "com.docker.network.bridge.name": n.bridge } : {}), ...n.options },
      containers: this.attachedTo(name).map((c) => c.info.id),
    };
  }

  private attachedTo(name: string): FakeContainer[] {
    return [...this.containers.values()].filter((c) => c.info.ips[name] !== undefined);
  }

  async networkExists(name: string): Promise<boolean> {
    return name === "bridge" || this.networks.has(name);
  }
}
