// The container runtime as the kubelet sees it: just what it needs to run pods, so Docker (its
// Engine API on the local socket) is one implementation and an in-memory fake serves unit tests.
// Both pass one contract suite (contract.ts). Everything the kubelet must find again after a
// restart is in container labels (LABELS), never only in the kubelet's memory.
import type { Readable } from "node:stream";

/** Labels bramble puts on every container it makes; adoption and cleanup rely on them. */
export const LABELS = {
  managed: "io.bramble.managed",
  /**
   * The cluster a container or network belongs to (see kubelet/names.ts clusterIdOf): one Docker
   * engine may serve nodes of several clusters, and a node name alone (the hostname, by default)
   * does not tell them apart.
   */
  cluster: "io.bramble.cluster",
  podUid: "io.bramble.pod.uid",
  podName: "io.bramble.pod.name",
  podNamespace: "io.bramble.pod.namespace",
  container: "io.bramble.container.name",
  /** "pause" for the sandbox, "init" or "app" otherwise. */
  kind: "io.bramble.container.kind",
  restartCount: "io.bramble.container.restartCount",
  /** Consecutive quick crashes before this attempt: the CrashLoopBackOff streak survives restarts. */
  backoffStreak: "io.bramble.container.backoffStreak",
  /** Hash of the container spec it was made from; a changed spec means a new container. */
  specHash: "io.bramble.container.specHash",
  /** The pod's terminationGracePeriodSeconds, for stopping orphans without their pod. */
  gracePeriod: "io.bramble.pod.terminationGracePeriod",
  /** On an image: "true" keeps it from image garbage collection (like a CRI runtime's pinned images). */
  pinnedImage: "io.bramble.image.pinned",
} as const;

export interface RuntimeVersion {
  /** "docker", "fake". */
  name: string;
  version: string;
  apiVersion: string;
  os?: string;
  arch?: string;
  kernelVersion?: string;
}

export interface Mount {
  hostPath: string;
  containerPath: string;
  readOnly?: boolean;
}

export interface TmpfsMount {
  containerPath: string;
  sizeBytes?: number;
}

export interface ContainerSpec {
  name: string;
  image: string;
  /** Replaces the image's entrypoint when set (Kubernetes `command`). */
  entrypoint?: string[];
  /** Replaces the image's cmd when set (Kubernetes `args`). */
  cmd?: string[];
  env?: Record<string, string>;
  workingDir?: string;
  labels?: Record<string, string>;
  mounts?: Mount[];
  tmpfs?: TmpfsMount[];
  /** "bridge", a network name, "none", "host" or `container:<id>`. */
  networkMode?: string;
  /** "shareable", "private", "host" or `container:<id>`. */
  ipcMode?: string;
  /** "", "host" or `container:<id>`. */
  pidMode?: string;
  memoryBytes?: number;
  /** CPU limit in nano-CPUs (1e9 = one CPU). */
  nanoCpus?: number;
  /** Relative weight (requests.cpu), as Docker's CpuShares. */
  cpuShares?: number;
  /** "uid" or "uid:gid". */
  user?: string;
  readOnlyRootfs?: boolean;
  privileged?: boolean;
  capAdd?: string[];
  capDrop?: string[];
  tty?: boolean;
  stdin?: boolean;
  stdinOnce?: boolean;
  hostname?: string;
  /** With hostname: /etc/hosts maps "<hostname>.<domainname>" (the pod's FQDN) to the container's address. */
  domainname?: string;
  dns?: { servers?: string[]; searches?: string[]; options?: string[] };
  /** "host:ip" entries for /etc/hosts. */
  extraHosts?: string[];
  /** Signal `stop` sends first; SIGTERM by default. */
  stopSignal?: string;
  /** Log rotation (kubelet's --container-log-max-size / --container-log-max-files); DEFAULT_CONTAINER_LOGS when unset. */
  logs?: ContainerLogPolicy;
}

export interface ContainerLogPolicy {
  /** A log file is rotated once it reaches this size. */
  maxSizeBytes: number;
  /** Files kept per container, the one being written included (at least 2). */
  maxFiles: number;
}

/** 10 MiB × 2 files: at most 20 MiB of logs per container, small enough for an SD card. */
export const DEFAULT_CONTAINER_LOGS: ContainerLogPolicy = { maxSizeBytes: 10 * 1024 * 1024, maxFiles: 2 };

export type ContainerState = "created" | "running" | "exited" | "unknown";

export interface ContainerInfo {
  id: string;
  name: string;
  image: string;
  /** The image's ID (sha256:...). */
  imageId: string;
  labels: Record<string, string>;
  state: ContainerState;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  exitCode?: number;
  /** True when the kernel's OOM killer ended it. */
  oomKilled?: boolean;
  error?: string;
  /** IP per network name (the pause container's is the pod IP). */
  ips: Record<string, string>;
  /** The main process on the host, while running (port-forwarding enters its network namespace). */
  pid?: number;
}

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Gives up (and reports exit code -1) after this long. */
  timeoutMs?: number;
}

export interface LogOptions {
  follow?: boolean;
  tail?: number;
  /** Unix seconds. */
  since?: number;
  timestamps?: boolean;
}

export interface RegistryAuth {
  username?: string;
  password?: string;
  auth?: string;
  serveraddress?: string;
  identitytoken?: string;
}

export interface ImageInfo {
  id: string;
  repoTags: string[];
  repoDigests: string[];
}

/** An image as the runtime lists it, for garbage collection. */
export interface ImageSummary extends ImageInfo {
  /** Bytes on disk, shared layers included (what removing it frees at most). */
  sizeBytes: number;
  labels: Record<string, string>;
}

export interface NetworkSpec {
  name: string;
  subnet: string;
  gateway?: string;
  /** Linux bridge name on the host. */
  bridge?: string;
  labels?: Record<string, string>;
  /** Driver options (e.g. com.docker.network.bridge.enable_ip_masquerade). */
  options?: Record<string, string>;
}

/** A network as the runtime reports it. */
export interface NetworkInfo {
  id: string;
  name: string;
  subnet?: string;
  gateway?: string;
  labels: Record<string, string>;
  options: Record<string, string>;
  /** IDs of the containers attached to it. */
  containers: string[];
}

/** Thrown when a container, image or network does not exist. */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}

/** Thrown when an image cannot be removed because a container (running or stopped) uses it. */
export class ImageInUseError extends Error {
  override name = "ImageInUseError";
}

/** Thrown by attachStream when the container exists but its process is not running. */
export class NotRunningError extends Error {
  override name = "NotRunningError";
}

export interface ContainerRuntime {
  version(): Promise<RuntimeVersion>;
  /** All containers (running or not) carrying every given label (`value` undefined: any value). */
  listContainers(labels: Record<string, string | undefined>): Promise<ContainerInfo[]>;
  /** NotFoundError when it does not exist. */
  inspectContainer(id: string): Promise<ContainerInfo>;
  createContainer(spec: ContainerSpec): Promise<string>;
  startContainer(id: string): Promise<void>;
  /** Sends the stop signal, waits up to timeoutSeconds, then SIGKILL. Stopping a stopped container is fine. */
  stopContainer(id: string, timeoutSeconds: number): Promise<void>;
  killContainer(id: string, signal?: string): Promise<void>;
  /** Removes it (forcibly if running); a missing container is fine. */
  removeContainer(id: string): Promise<void>;
  /** Runs a command to completion inside a running container, collecting its output. */
  exec(id: string, cmd: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** An interactive exec's raw streams (for `kubectl exec`): stdout/stderr demultiplexed unless tty. */
  execStream(id: string, cmd: string[], opts: { tty?: boolean; stdin?: boolean }): Promise<ExecSession>;
  /**
   * Joins the container's main process's streams (for `kubectl attach`). Framing follows the
   * container's own TTY setting, not the caller's. NotFoundError, or NotRunningError if stopped.
   */
  attachStream(id: string, opts: AttachOptions): Promise<AttachSession>;
  /** Log lines of a container, as a stream of text (stdout and stderr interleaved). */
  logs(id: string, opts?: LogOptions): Promise<Readable>;
  imagePresent(ref: string): Promise<ImageInfo | undefined>;
  pullImage(ref: string, auth?: RegistryAuth): Promise<void>;
  /** A root filesystem tar becomes image `ref` (docker import), with Dockerfile-style changes. */
  importImage(tar: Readable | Uint8Array, ref: string, changes?: string[]): Promise<void>;
  /** An image archive (docker save / OCI layout tar, maybe gzipped) is loaded (docker load). */
  loadImage(tar: Readable | Uint8Array): Promise<string[]>;
  /** Removes an image by reference, forcibly (tests and tooling; never the garbage collector). */
  removeImage(ref: string): Promise<void>;
  /** Every image on the engine with its size. */
  listImages(): Promise<ImageSummary[]>;
  /**
   * Removes an image (by ID, all its tags) unless a container, running or stopped, uses it:
   * ImageInUseError then. A missing image is fine.
   */
  removeUnusedImage(id: string): Promise<void>;
  /** The directory the runtime keeps images and writable layers in (the image filesystem), if it is local. */
  imageFsPath(): Promise<string | undefined>;
  createNetwork(spec: NetworkSpec): Promise<string>;
  /** A missing network is fine. `force` disconnects attached containers first (they lose that network). */
  removeNetwork(name: string, opts?: { force?: boolean }): Promise<void>;
  networkExists(name: string): Promise<boolean>;
  /** Undefined when it does not exist. */
  inspectNetwork(name: string): Promise<NetworkInfo | undefined>;
}

export interface ExecSession {
  stdin?: NodeJS.WritableStream;
  stdout: Readable;
  stderr?: Readable;
  /** Resolves with the exit code when the process ends. */
  exitCode: Promise<number>;
  resize?(rows: number, cols: number): Promise<void>;
}

export interface AttachOptions {
  stdin?: boolean;
  stdout?: boolean;
  stderr?: boolean;
}

export interface AttachSession {
  /** Present when stdin was asked for; ending it ends the process's stdin only if the container is stdinOnce. */
  stdin?: NodeJS.WritableStream;
  stdout: Readable;
  stderr?: Readable;
  /** The container has a terminal: output is one raw stream, and resize applies. */
  tty: boolean;
  /** Resolves when the attach ends: the process exited, or the connection was dropped. */
  ended: Promise<void>;
  resize?(rows: number, cols: number): Promise<void>;
}

/** Splits "repo:tag" ("repo" alone means "latest"; a digest keeps its "@"). */
export function splitImageRef(ref: string): { repo: string; tag: string } {
  if (ref.includes("@")) return { repo: ref, tag: "" };
  const slash = ref.lastIndexOf("/");
  const colon = ref.lastIndexOf(":");
  if (colon > slash) return { repo: ref.slice(0, colon), tag: ref.slice(colon + 1) };
  return { repo: ref, tag: "latest" };
}

/** "busybox" → "busybox:latest", so tag lookups compare like Docker's. */
export function normalizeImageRef(ref: string): string {
  const { repo, tag } = splitImageRef(ref);
  return tag ? `${repo}:${tag}` : repo;
}
