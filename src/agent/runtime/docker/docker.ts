// The Docker implementation of ContainerRuntime, over the engine's API on its local socket
// (engine.ts). Docker ≥ 20.10 (API 1.41) is what Debian ships; nothing newer is assumed.
import { PassThrough, Readable, Writable } from "node:stream";
import {
  DEFAULT_CONTAINER_LOGS,
  ImageInUseError,
  NotFoundError,
  NotRunningError,
  normalizeImageRef,
  splitImageRef,
  type AttachOptions,
  type AttachSession,
  type ContainerInfo,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerState,
  type ExecOptions,
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
import { DockerApiError, DockerEngine, STREAM, StreamDemuxer, queryString, readProgress, segment, type HijackedConnection } from "./engine";

export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";

/** The fields of the engine's answers that bramble reads. */
interface ContainerJson {
  Id: string;
  Name: string;
  Image: string;
  Created: string;
  Config: { Image: string; Labels?: Record<string, string> | null; Tty?: boolean };
  State?: { Status?: string; Pid?: number; StartedAt?: string; FinishedAt?: string; ExitCode?: number; OOMKilled?: boolean; Error?: string };
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string }> | null };
}
interface NetworkJson {
  Id: string;
  Name: string;
  IPAM?: { Config?: Array<{ Subnet?: string; Gateway?: string }> | null };
  Labels?: Record<string, string> | null;
  Options?: Record<string, string> | null;
  Containers?: Record<string, unknown> | null;
}

const status = (e: unknown) => (e instanceof DockerApiError ? e.statusCode : undefined);
/** Docker reports "never" as the zero time. */
const time = (t: string | undefined) => (t && !t.startsWith("0001-") ? t : undefined);
const containerPath = (id: string, rest = "") => `/containers/${segment(id)}${rest}`;

function stateOf(status: string | undefined): ContainerState {
  switch (status) {
    case "running":
    case "paused":
    case "restarting":
      return "running";
    case "exited":
    case "dead":
      return "exited";
    case "created":
      return "created";
    default:
      return "unknown";
  }
}

/** An upload body: bytes as they are, a Node stream as a web stream (sent chunked, not buffered). */
const uploadBody = (tar: Readable | Uint8Array) => (tar instanceof Uint8Array ? tar : (Readable.toWeb(tar) as ReadableStream<Uint8Array>));

export class DockerRuntime implements ContainerRuntime {
  readonly engine: DockerEngine;

  constructor(readonly socketPath = DEFAULT_DOCKER_SOCKET) {
    this.engine = new DockerEngine(socketPath);
  }

  async version(): Promise<RuntimeVersion> {
    const v = await this.engine.json<{ Version: string; ApiVersion: string; Os?: string; Arch?: string; KernelVersion?: string }>("GET", "/version");
    return { name: "docker", version: v.Version, apiVersion: v.ApiVersion, os: v.Os, arch: v.Arch, kernelVersion: v.KernelVersion };
  }

  /**
   * Inspections by container ID, valid while the list shows the same state: a running container's
   * start time and IPs do not change, an exited one never changes (the kubelet makes a new
   * container instead of restarting one). The kubelet relists every second; this keeps that to
   * one list call instead of one inspect per container.
   */
  private readonly inspected = new Map<string, { state: string; info: ContainerInfo }>();

  async listContainers(labels: Record<string, string | undefined>): Promise<ContainerInfo[]> {
    const label = Object.entries(labels).map(([k, v]) => (v === undefined ? k : `${k}=${v}`));
    const list = await this.engine.json<Array<{ Id: string; State: string }>>("GET", "/containers/json", { query: { all: true, filters: { label } } });
    // The list lacks exit codes and times; an inspect per changed container gives the whole truth.
    const infos = await Promise.all(
      list.map(async (c) => {
        const cached = this.inspected.get(c.Id);
        if (cached && cached.state === c.State && (c.State === "running" || c.State === "exited")) return structuredClone(cached.info);
        try {
          const info = await this.inspectContainer(c.Id);
          this.inspected.set(c.Id, { state: c.State, info: structuredClone(info) });
          return info;
        } catch (e) {
          if (e instanceof NotFoundError) return undefined;
          throw e;
        }
      }),
    );
    if (this.inspected.size > 4 * list.length + 256) this.inspected.clear(); // bounded: removed containers
    return infos.filter((c): c is ContainerInfo => !!c);
  }

  private async inspectJson(id: string): Promise<ContainerJson> {
    try {
      return await this.engine.json<ContainerJson>("GET", containerPath(id, "/json"));
    } catch (e) {
      if (status(e) === 404) throw new NotFoundError(`container ${id} not found`);
      throw e;
    }
  }

  async inspectContainer(id: string): Promise<ContainerInfo> {
    const c = await this.inspectJson(id);
    const ips: Record<string, string> = {};
    for (const [net, n] of Object.entries(c.NetworkSettings?.Networks ?? {})) if (n.IPAddress) ips[net] = n.IPAddress;
    const state = stateOf(c.State?.Status);
    return {
      id: c.Id,
      name: c.Name.replace(/^\//, ""),
      image: c.Config.Image,
      imageId: c.Image,
      labels: c.Config.Labels ?? {},
      state,
      createdAt: c.Created,
      startedAt: time(c.State?.StartedAt),
      finishedAt: state === "exited" ? time(c.State?.FinishedAt) : undefined,
      exitCode: state === "exited" ? c.State?.ExitCode : undefined,
      oomKilled: c.State?.OOMKilled || undefined,
      error: c.State?.Error || undefined,
      pid: state === "running" && c.State?.Pid ? c.State.Pid : undefined,
      ips,
    };
  }

  async createContainer(s: ContainerSpec): Promise<string> {
    const env = Object.entries(s.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const joinsNetwork = s.networkMode?.startsWith("container:");
    const logs = s.logs ?? DEFAULT_CONTAINER_LOGS;
    const body = {
      Image: s.image,
      Entrypoint: s.entrypoint,
      Cmd: s.cmd,
      Env: env,
      WorkingDir: s.workingDir,
      Labels: s.labels,
      User: s.user,
      Tty: s.tty ?? false,
      OpenStdin: s.stdin ?? false,
      StdinOnce: s.stdinOnce ?? false,
      AttachStdin: false,
      // Docker refuses a hostname for a container that joins another's network namespace.
      Hostname: joinsNetwork ? undefined : s.hostname,
      Domainname: joinsNetwork ? undefined : s.domainname,
      StopSignal: s.stopSignal,
      HostConfig: {
        Binds: (s.mounts ?? []).map((m) => `${m.hostPath}:${m.containerPath}${m.readOnly ? ":ro" : ""}`),
        Tmpfs: Object.fromEntries((s.tmpfs ?? []).map((t) => [t.containerPath, t.sizeBytes ? `size=${t.sizeBytes}` : ""])),
        NetworkMode: s.networkMode,
        IpcMode: s.ipcMode,
        PidMode: s.pidMode,
        Memory: s.memoryBytes,
        NanoCpus: s.nanoCpus,
        CpuShares: s.cpuShares,
        ReadonlyRootfs: s.readOnlyRootfs ?? false,
        Privileged: s.privileged ?? false,
        CapAdd: s.capAdd,
        CapDrop: s.capDrop,
        // DNS and /etc/hosts belong to the network namespace's owner (the pause container).
        ...(joinsNetwork ? {} : { Dns: s.dns?.servers, DnsSearch: s.dns?.searches, DnsOptions: s.dns?.options, ExtraHosts: s.extraHosts }),
        // Restarts are the kubelet's decision (restartPolicy, backoff), never the engine's.
        RestartPolicy: { Name: "no" },
        // json-file reads a plain number as bytes; rotation keeps max-file files in all.
        LogConfig: { Type: "json-file", Config: { "max-size": String(logs.maxSizeBytes), "max-file": String(logs.maxFiles) } },
      },
    };
    const c = await this.engine.json<{ Id: string }>("POST", "/containers/create", { query: { name: s.name }, json: body });
    return c.Id;
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.engine.call("POST", containerPath(id, "/start"), {}, [304]); // 304: already running
    } catch (e) {
      if (status(e) === 404) throw new NotFoundError(`container ${id} not found`);
      throw e;
    }
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    // 304: already stopped; 404: gone. Both are what the caller wanted.
    await this.engine.call("POST", containerPath(id, "/stop"), { query: { t: Math.max(0, Math.round(timeoutSeconds)) } }, [304, 404]);
  }

  async killContainer(id: string, signal = "SIGKILL"): Promise<void> {
    // 409: not running — nothing to kill.
    await this.engine.call("POST", containerPath(id, "/kill"), { query: { signal } }, [404, 409]);
  }

  async removeContainer(id: string): Promise<void> {
    this.inspected.delete(id);
    // 409 "removal already in progress" is as good as done.
    await this.engine.call("DELETE", containerPath(id), { query: { force: true, v: true } }, [404, 409]);
  }

  async exec(id: string, cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const session = await this.execStream(id, cmd, {});
    let stdout = "";
    let stderr = "";
    const decoders = [new TextDecoder(), new TextDecoder()];
    session.stdout.on("data", (d: Uint8Array) => (stdout += decoders[0]!.decode(d, { stream: true })));
    session.stderr?.on("data", (d: Uint8Array) => (stderr += decoders[1]!.decode(d, { stream: true })));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<number>((resolve) => {
      if (opts.timeoutMs) timer = setTimeout(() => resolve(-1), opts.timeoutMs);
    });
    try {
      const exitCode = await Promise.race([session.exitCode, timeout]);
      if (exitCode === -1) session.stdout.destroy();
      return { exitCode, stdout, stderr };
    } finally {
      clearTimeout(timer);
    }
  }

  async execStream(id: string, cmd: string[], opts: { tty?: boolean; stdin?: boolean }): Promise<ExecSession> {
    const tty = !!opts.tty;
    let execId: string;
    try {
      const created = await this.engine.json<{ Id: string }>("POST", containerPath(id, "/exec"), {
        json: { Cmd: cmd, AttachStdout: true, AttachStderr: true, AttachStdin: !!opts.stdin, Tty: tty },
      });
      execId = created.Id;
    } catch (e) {
      if (status(e) === 404) throw new NotFoundError(`container ${id} not found`);
      throw e;
    }
    const conn = await this.engine.hijack(`/exec/${execId}/start`, { Detach: false, Tty: tty });
    const s = hijackedStreams(conn, tty, !!opts.stdin);
    return {
      ...s,
      exitCode: s.ended.then(() => this.execExitCode(execId)),
      resize: (h, w) => this.engine.call("POST", `/exec/${execId}/resize`, { query: { h, w } }).then(() => undefined),
    };
  }

  async attachStream(id: string, opts: AttachOptions): Promise<AttachSession> {
    const info = await this.inspectJson(id);
    if (stateOf(info.State?.Status) !== "running") throw new NotRunningError(`container ${id} is not running`);
    // The engine frames the output by the container's TTY setting, whatever the caller wants.
    const tty = !!info.Config.Tty;
    const query = queryString({ stream: true, stdin: !!opts.stdin, stdout: opts.stdout ?? true, stderr: opts.stderr ?? true });
    let conn: HijackedConnection;
    try {
      conn = await this.engine.hijack(containerPath(id, `/attach${query}`));
    } catch (e) {
      if (status(e) === 404) throw new NotFoundError(`container ${id} not found`);
      if (status(e) === 409) throw new NotRunningError(`container ${id} is not running: ${(e as Error).message}`);
      throw e;
    }
    return {
      ...hijackedStreams(conn, tty, !!opts.stdin),
      tty,
      resize: (h, w) => this.engine.call("POST", containerPath(id, "/resize"), { query: { h, w } }).then(() => undefined),
    };
  }

  /**
   * The exit code once the exec's connection has closed. The engine may close it a moment before
   * it records the exit (Running still true, ExitCode null): ask again briefly. -1 if unknown.
   */
  private async execExitCode(execId: string): Promise<number> {
    for (let attempt = 0; attempt < 50; attempt++) {
      try {
        const e = await this.engine.json<{ Running?: boolean; ExitCode?: number | null }>("GET", `/exec/${execId}/json`);
        if (!e.Running && typeof e.ExitCode === "number") return e.ExitCode;
      } catch {
        return -1;
      }
      await Bun.sleep(20);
    }
    return -1;
  }

  async logs(id: string, opts: LogOptions = {}): Promise<Readable> {
    const info = await this.inspectJson(id);
    const abort = new AbortController();
    const res = await this.engine.request("GET", containerPath(id, "/logs"), {
      query: { stdout: true, stderr: true, follow: !!opts.follow, tail: opts.tail, since: opts.since ?? 0, timestamps: opts.timestamps ?? false },
      signal: abort.signal,
    });
    return logStream(res.body!, !info.Config.Tty, abort);
  }

  async imagePresent(ref: string): Promise<ImageInfo | undefined> {
    try {
      const i = await this.engine.json<{ Id: string; RepoTags?: string[] | null; RepoDigests?: string[] | null }>("GET", `/images/${segment(normalizeImageRef(ref))}/json`);
      return { id: i.Id, repoTags: i.RepoTags ?? [], repoDigests: i.RepoDigests ?? [] };
    } catch (e) {
      if (status(e) === 404) return undefined;
      throw e;
    }
  }

  async pullImage(ref: string, auth?: RegistryAuth): Promise<void> {
    const { repo, tag } = splitImageRef(normalizeImageRef(ref));
    // X-Registry-Auth: the credentials as base64url JSON, as the API reference specifies.
    const headers: Record<string, string> = auth ? { "x-registry-auth": Buffer.from(JSON.stringify(auth)).toString("base64url") } : {};
    const res = await this.engine.request("POST", "/images/create", { query: { fromImage: repo, tag: tag || undefined }, headers });
    await readProgress(res);
  }

  async importImage(tar: Readable | Uint8Array, ref: string, changes: string[] = []): Promise<void> {
    const { repo, tag } = splitImageRef(ref);
    const res = await this.engine.request("POST", "/images/create", { query: { fromSrc: "-", repo, tag, changes }, body: uploadBody(tar) });
    await readProgress(res);
  }

  async loadImage(tar: Readable | Uint8Array): Promise<string[]> {
    const res = await this.engine.request("POST", "/images/load", { query: { quiet: true }, body: uploadBody(tar) });
    const out = await readProgress(res);
    return out.flatMap((o) => /Loaded image(?: ID)?: (\S+)/.exec(String(o.stream ?? ""))?.[1] ?? []);
  }

  async removeImage(ref: string): Promise<void> {
    await this.engine.call("DELETE", `/images/${segment(normalizeImageRef(ref))}`, { query: { force: true } }, [404]);
  }

  async listImages(): Promise<ImageSummary[]> {
    const list = await this.engine.json<Array<{ Id: string; RepoTags?: string[] | null; RepoDigests?: string[] | null; Size?: number; Labels?: Record<string, string> | null }>>("GET", "/images/json");
    const real = (refs: string[] | null | undefined) => (refs ?? []).filter((r) => !r.startsWith("<none>"));
    return list.map((i) => ({ id: i.Id, repoTags: real(i.RepoTags), repoDigests: real(i.RepoDigests), sizeBytes: Math.max(0, i.Size ?? 0), labels: i.Labels ?? {} }));
  }

  /**
   * As dockershim removed images for the kubelet: an image with several tags loses them one by
   * one (a removal by ID would need force, and force also removes images of stopped containers).
   * Containers using it (or an image built on it) are asked for first, so no tag of an image in
   * use is touched; the engine's own 409 is the backstop for a container made meanwhile.
   */
  async removeUnusedImage(id: string): Promise<void> {
    let tags: string[];
    try {
      const i = await this.engine.json<{ RepoTags?: string[] | null }>("GET", `/images/${segment(id)}/json`);
      tags = (i.RepoTags ?? []).filter((t) => !t.startsWith("<none>"));
    } catch (e) {
      if (status(e) === 404) return;
      throw e;
    }
    const users = await this.engine.json<Array<{ Id: string }>>("GET", "/containers/json", { query: { all: true, filters: { ancestor: [id] } } });
    if (users.length) throw new ImageInUseError(`image ${id} is used by container ${users[0]!.Id.slice(0, 12)}`);
    for (const ref of tags.length > 1 ? tags : [id]) {
      try {
        await this.engine.call("DELETE", `/images/${segment(ref)}`, {}, [404]);
      } catch (e) {
        if (status(e) === 409) throw new ImageInUseError((e as Error).message);
        throw e;
      }
    }
  }

  async imageFsPath(): Promise<string | undefined> {
    const info = await this.engine.json<{ DockerRootDir?: string }>("GET", "/info");
    return info.DockerRootDir || undefined;
  }

  async createNetwork(s: NetworkSpec): Promise<string> {
    const n = await this.engine.json<{ Id: string }>("POST", "/networks/create", {
      json: {
        Name: s.name,
        Driver: "bridge",
        CheckDuplicate: true,
        IPAM: { Driver: "default", Config: [{ Subnet: s.subnet, ...(s.gateway ? { Gateway: s.gateway } : {}) }] },
        Options: { ...(s.bridge ? { "com.docker.network.bridge.name": s.bridge } : {}), ...s.options },
        Labels: s.labels ?? {},
      },
    });
    return n.Id;
  }

  async removeNetwork(name: string, opts: { force?: boolean } = {}): Promise<void> {
    const path = `/networks/${segment(name)}`;
    if (opts.force) {
      const info = await this.networkJson(name);
      if (!info) return;
      for (const id of Object.keys(info.Containers ?? {})) {
        await this.engine.call("POST", `${path}/disconnect`, { json: { Container: id, Force: true } }, [404]);
      }
    }
    await this.engine.call("DELETE", path, {}, [404]);
  }

  private async networkJson(name: string): Promise<NetworkJson | undefined> {
    try {
      return await this.engine.json<NetworkJson>("GET", `/networks/${segment(name)}`);
    } catch (e) {
      if (status(e) === 404) return undefined;
      throw e;
    }
  }

  async networkExists(name: string): Promise<boolean> {
    return (await this.networkJson(name)) !== undefined;
  }

  async inspectNetwork(name: string): Promise<NetworkInfo | undefined> {
    const n = await this.networkJson(name);
    if (!n) return undefined;
    const ipam = n.IPAM?.Config?.[0] ?? {};
    return {
      id: n.Id,
      name: n.Name,
      subnet: ipam.Subnet,
      gateway: ipam.Gateway,
      labels: n.Labels ?? {},
      options: n.Options ?? {},
      containers: Object.keys(n.Containers ?? {}),
    };
  }
}

/**
 * A log response body as a Node stream of text (stdout and stderr interleaved as written). Read
 * on demand, so a slow reader slows the engine; destroying it aborts the request, which is what
 * ends a followed log.
 */
function logStream(body: ReadableStream<Uint8Array>, multiplexed: boolean, abort: AbortController): Readable {
  const reader = body.getReader();
  let frames: Uint8Array[] = [];
  const demuxer = new StreamDemuxer((_, payload) => frames.push(payload));
  return new Readable({
    async read() {
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) {
            if (demuxer.pending) this.destroy(new Error(`log stream cut off in a frame (${demuxer.pending} bytes)`));
            else this.push(null);
            return;
          }
          if (!multiplexed) return void this.push(value);
          demuxer.push(value);
          if (frames.length) {
            const ready = frames;
            frames = [];
            for (const f of ready) this.push(f);
            return;
          }
        }
      } catch (e) {
        if (!abort.signal.aborted) this.destroy(e as Error);
      }
    },
    destroy(err, done) {
      abort.abort();
      reader.cancel().catch(() => undefined);
      done(err);
    },
  });
}

/**
 * The streams of a hijacked exec or attach connection. A TTY merges everything into one raw
 * stream; otherwise frames say which stream they are. `ended` resolves when the engine closes.
 */
function hijackedStreams(conn: HijackedConnection, tty: boolean, withStdin: boolean) {
  const stdout = new PassThrough();
  const stderr = tty ? undefined : new PassThrough();
  const demuxer = new StreamDemuxer((stream, payload) => (stream === STREAM.stderr ? stderr! : stdout).write(payload));
  const ended = new Promise<void>((resolve) => {
    conn.listen({
      data: (chunk) => (tty ? stdout.write(chunk) : demuxer.push(chunk)),
      end: () => {
        stdout.end();
        stderr?.end();
        resolve();
      },
    });
  });
  // The reader gave up (timeout, client gone): drop the connection so the engine lets go too.
  stdout.once("close", () => conn.close());
  const stdin = withStdin
    ? new Writable({
        write(chunk: Uint8Array, _enc, done) {
          conn.write(chunk);
          done();
        },
        final(done) {
          conn.closeWrite();
          done();
        },
      })
    : undefined;
  return { stdin, stdout, stderr, ended };
}
