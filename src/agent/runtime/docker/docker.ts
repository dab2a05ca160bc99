// The Docker implementation of ContainerRuntime, over the engine's API on its local socket
// (dockerode). Docker ≥ 20.10 (API 1.41) is what Debian ships; nothing newer is assumed.
import Docker from "dockerode";
import { PassThrough, Readable } from "node:stream";
import {
  NotFoundError,
  normalizeImageRef,
  splitImageRef,
  type ContainerInfo,
  type ContainerRuntime,
  type ContainerSpec,
  type ContainerState,
  type ExecOptions,
  type ExecResult,
  type ExecSession,
  type ImageInfo,
  type LogOptions,
  type NetworkInfo,
  type NetworkSpec,
  type RegistryAuth,
  type RuntimeVersion,
} from "../runtime";

export const DEFAULT_DOCKER_SOCKET = "/var/run/docker.sock";

const notFound = (e: unknown) => (e as { statusCode?: number })?.statusCode === 404;
const notModified = (e: unknown) => (e as { statusCode?: number })?.statusCode === 304;
/** Docker reports "never" as the zero time. */
const time = (t: string | undefined) => (t && !t.startsWith("0001-") ? t : undefined);

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

const toStream = (tar: Readable | Uint8Array): Readable => (tar instanceof Uint8Array ? Readable.from([Buffer.from(tar)]) : tar);

export class DockerRuntime implements ContainerRuntime {
  readonly docker: Docker;

  constructor(readonly socketPath = DEFAULT_DOCKER_SOCKET) {
    this.docker = new Docker({ socketPath });
  }

  async version(): Promise<RuntimeVersion> {
    const v = await this.docker.version();
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
    const list = await this.docker.listContainers({ all: true, filters: { label } });
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

  async inspectContainer(id: string): Promise<ContainerInfo> {
    let c: Docker.ContainerInspectInfo;
    try {
      c = await this.docker.getContainer(id).inspect();
    } catch (e) {
      if (notFound(e)) throw new NotFoundError(`container ${id} not found`);
      throw e;
    }
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
      ips,
    };
  }

  async createContainer(s: ContainerSpec): Promise<string> {
    const env = Object.entries(s.env ?? {}).map(([k, v]) => `${k}=${v}`);
    const joinsNetwork = s.networkMode?.startsWith("container:");
    const c = await this.docker.createContainer({
      name: s.name,
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
        LogConfig: { Type: "json-file", Config: { "max-size": "10m", "max-file": "2" } },
      },
    });
    return c.id;
  }

  async startContainer(id: string): Promise<void> {
    try {
      await this.docker.getContainer(id).start();
    } catch (e) {
      if (notModified(e)) return;
      if (notFound(e)) throw new NotFoundError(`container ${id} not found`);
      throw e;
    }
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    try {
      await this.docker.getContainer(id).stop({ t: Math.max(0, Math.round(timeoutSeconds)) });
    } catch (e) {
      if (notModified(e) || notFound(e)) return;
      throw e;
    }
  }

  async killContainer(id: string, signal = "SIGKILL"): Promise<void> {
    try {
      await this.docker.getContainer(id).kill({ signal });
    } catch (e) {
      if (notFound(e)) return;
      // 409: not running — nothing to kill.
      if ((e as { statusCode?: number }).statusCode === 409) return;
      throw e;
    }
  }

  async removeContainer(id: string): Promise<void> {
    this.inspected.delete(id);
    try {
      await this.docker.getContainer(id).remove({ force: true, v: true });
    } catch (e) {
      if (notFound(e)) return;
      // 409 "removal already in progress" is as good as done.
      if ((e as { statusCode?: number }).statusCode === 409) return;
      throw e;
    }
  }

  async exec(id: string, cmd: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const session = await this.execStream(id, cmd, {});
    let stdout = "";
    let stderr = "";
    session.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    session.stderr?.on("data", (d: Buffer) => (stderr += d.toString()));
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
    let exec: Docker.Exec;
    try {
      exec = await this.docker.getContainer(id).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true, AttachStdin: !!opts.stdin, Tty: !!opts.tty });
    } catch (e) {
      if (notFound(e)) throw new NotFoundError(`container ${id} not found`);
      throw e;
    }
    const raw = (await exec.start({ hijack: true, stdin: !!opts.stdin, Tty: !!opts.tty })) as NodeJS.ReadWriteStream & Readable;
    const stdout = new PassThrough();
    const stderr = opts.tty ? undefined : new PassThrough();
    if (opts.tty) raw.pipe(stdout);
    else this.docker.modem.demuxStream(raw, stdout, stderr!);
    const exitCode = new Promise<number>((resolve) => {
      const finish = async () => {
        stdout.end();
        stderr?.end();
        try {
          resolve((await exec.inspect()).ExitCode ?? -1);
        } catch {
          resolve(-1);
        }
      };
      raw.once("end", finish);
      raw.once("close", finish);
      raw.once("error", finish);
    });
    return {
      stdin: opts.stdin ? raw : undefined,
      stdout,
      stderr,
      exitCode,
      resize: (h, w) => exec.resize({ h, w }).then(() => undefined),
    };
  }

  async logs(id: string, opts: LogOptions = {}): Promise<Readable> {
    const container = this.docker.getContainer(id);
    let info: Docker.ContainerInspectInfo;
    try {
      info = await container.inspect();
    } catch (e) {
      if (notFound(e)) throw new NotFoundError(`container ${id} not found`);
      throw e;
    }
    const base = { stdout: true, stderr: true, ...(opts.tail !== undefined ? { tail: opts.tail } : {}), since: opts.since ?? 0, timestamps: opts.timestamps ?? false };
    const out = new PassThrough();
    if (opts.follow) {
      const stream = (await container.logs({ ...base, follow: true })) as unknown as Readable;
      if (info.Config.Tty) stream.pipe(out);
      else {
        this.docker.modem.demuxStream(stream, out, out);
        stream.once("end", () => out.end());
      }
      out.once("close", () => stream.destroy());
      return out;
    }
    const buf = (await container.logs({ ...base, follow: false } as Docker.ContainerLogsOptions & { follow?: false })) as unknown as Buffer;
    out.end(info.Config.Tty ? buf : demuxBuffer(buf));
    return out;
  }

  async imagePresent(ref: string): Promise<ImageInfo | undefined> {
    try {
      const i = await this.docker.getImage(normalizeImageRef(ref)).inspect();
      return { id: i.Id, repoTags: i.RepoTags ?? [], repoDigests: i.RepoDigests ?? [] };
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
  }

  async pullImage(ref: string, auth?: RegistryAuth): Promise<void> {
    const stream = await this.docker.pull(normalizeImageRef(ref), auth ? { authconfig: auth } : {});
    await new Promise<void>((resolve, reject) =>
      this.docker.modem.followProgress(stream, (err: Error | null, output: Array<{ error?: string }>) => {
        const failed = output?.find((o) => o.error);
        if (err) reject(err);
        else if (failed) reject(new Error(failed.error));
        else resolve();
      }),
    );
  }

  async importImage(tar: Readable | Uint8Array, ref: string, changes: string[] = []): Promise<void> {
    const { repo, tag } = splitImageRef(ref);
    const stream = await this.docker.importImage(toStream(tar) as unknown as NodeJS.ReadableStream, { repo, tag, changes });
    await drainJson(stream as unknown as Readable);
  }

  async loadImage(tar: Readable | Uint8Array): Promise<string[]> {
    const stream = await this.docker.loadImage(toStream(tar) as unknown as NodeJS.ReadableStream, { quiet: true });
    const out = await drainJson(stream as unknown as Readable);
    return out.flatMap((o) => /Loaded image(?: ID)?: (\S+)/.exec(String(o.stream ?? ""))?.[1] ?? []);
  }

  async removeImage(ref: string): Promise<void> {
    try {
      await this.docker.getImage(normalizeImageRef(ref)).remove({ force: true });
    } catch (e) {
      if (!notFound(e)) throw e;
    }
  }

  async createNetwork(s: NetworkSpec): Promise<string> {
    const n = await this.docker.createNetwork({
      Name: s.name,
      Driver: "bridge",
      CheckDuplicate: true,
      IPAM: { Driver: "default", Config: [{ Subnet: s.subnet, ...(s.gateway ? { Gateway: s.gateway } : {}) }] },
      Options: { ...(s.bridge ? { "com.docker.network.bridge.name": s.bridge } : {}), ...s.options },
      Labels: s.labels ?? {},
    });
    return n.id;
  }

  async removeNetwork(name: string, opts: { force?: boolean } = {}): Promise<void> {
    try {
      const net = this.docker.getNetwork(name);
      if (opts.force) {
        const info = await net.inspect();
        for (const id of Object.keys(info.Containers ?? {})) await net.disconnect({ Container: id, Force: true });
      }
      await net.remove();
    } catch (e) {
      if (!notFound(e)) throw e;
    }
  }

  async networkExists(name: string): Promise<boolean> {
    try {
      await this.docker.getNetwork(name).inspect();
      return true;
    } catch (e) {
      if (notFound(e)) return false;
      throw e;
    }
  }

  async inspectNetwork(name: string): Promise<NetworkInfo | undefined> {
    try {
      const n = await this.docker.getNetwork(name).inspect();
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
    } catch (e) {
      if (notFound(e)) return undefined;
      throw e;
    }
  }
}

/** Docker's multiplexed log format: 8-byte headers (stream, 0, 0, 0, size32) before each frame. */
export function demuxBuffer(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const size = buf.readUInt32BE(i + 4);
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  return Buffer.concat(parts);
}

/** Reads a JSON-lines progress stream to its end; an `error` line rejects. */
async function drainJson(stream: Readable): Promise<Array<Record<string, unknown>>> {
  let text = "";
  for await (const chunk of stream) text += chunk.toString();
  const out: Array<Record<string, unknown>> = [];
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    try {
      const o = JSON.parse(line) as Record<string, unknown>;
      if (o.error) throw new Error(String(o.error));
      out.push(o);
    } catch (e) {
      if (e instanceof SyntaxError) continue;
      throw e;
    }
  }
  return out;
}
