// The one contract every ContainerRuntime passes (fake and Docker): what the kubelet relies on.
// Run by runtime/fake/fake.test.ts and runtime/docker/docker.test.ts.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildTar } from "../images/tar";
import { ImageInUseError, LABELS, NotFoundError, NotRunningError, type ContainerRuntime, type ContainerSpec } from "./runtime";

export interface ContractSetup {
  runtime: ContainerRuntime;
  /** An image with busybox-like sh, echo, env, sleep. */
  image: string;
  /** Removes what setup made (e.g. the imported test image). */
  cleanup?(): Promise<void>;
}

async function until<T>(f: () => Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error("timed out");
    await Bun.sleep(25);
  }
}

/** `skip`: why this runtime is unavailable here (the whole contract is then reported skipped, never passed). */
export function runtimeContract(name: string, setup: () => Promise<ContractSetup>, skip?: string) {
  const run = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
  const label = "io.bramble.contract";
  let rt: ContainerRuntime;
  let image = "";
  let cleanup: (() => Promise<void>) | undefined;
  let n = 0;
  const spec = (over: Partial<ContainerSpec>): ContainerSpec => ({
    name: `bramble-contract-${run}-${n++}`,
    image,
    labels: { [label]: run, [LABELS.managed]: "true" },
    ...over,
  });
  describe.skipIf(skip !== undefined)(`ContainerRuntime contract: ${name}${skip ? ` (skipped: ${skip})` : ""}`, () => {
    beforeAll(async () => {
      const s = await setup();
      rt = s.runtime;
      image = s.image;
      cleanup = s.cleanup;
    });
    afterAll(async () => {
      for (const c of await rt.listContainers({ [label]: run })) await rt.removeContainer(c.id);
      await rt.removeNetwork(`bramble-contract-${run}`);
      await rt.removeImage(`bramble/contract-${run}:1`);
      for (const c of await rt.listContainers({ [label]: run })) await rt.removeContainer(c.id);
      for (const tag of ["gc-a", "gc-b"]) await rt.removeImage(`bramble/contract-${run}:${tag}`);
      await cleanup?.();
    });
    const t = (title: string, f: () => Promise<void>, timeout = 20_000) => test(title, f, timeout);

    t("reports its name and version", async () => {
      const v = await rt.version();
      expect(v.name).toBeString();
      expect(v.version).toBeString();
    });

    t("creates, starts, inspects and lists containers by label", async () => {
      const id = await rt.createContainer(spec({ cmd: ["sleep", "1000"], env: { FOO: "bar" }, labels: { [label]: run, role: "a" } }));
      expect((await rt.inspectContainer(id)).state).toBe("created");
      await rt.startContainer(id);
      await rt.startContainer(id); // already running: fine
      const info = await rt.inspectContainer(id);
      expect(info).toMatchObject({ id, state: "running", labels: { role: "a" } });
      expect(info.imageId).toStartWith("sha256:");
      expect(info.startedAt).toBeString();
      expect(info.ips.bridge).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect((await rt.listContainers({ [label]: run, role: "a" })).map((c) => c.id)).toEqual([id]);
      expect(await rt.listContainers({ [label]: run, role: "b" })).toEqual([]);
      expect((await rt.listContainers({ role: undefined, [label]: run })).map((c) => c.id)).toContain(id);
      const env = await rt.exec(id, ["env"]);
      expect(env.stdout).toContain("FOO=bar");
    });

    t("reports exit codes, finish times and logs of exited containers", async () => {
      const id = await rt.createContainer(spec({ cmd: ["sh", "-c", "echo out; exit 3"] }));
      await rt.startContainer(id);
      const done = await until(async () => {
        const i = await rt.inspectContainer(id);
        return i.state === "exited" && i;
      });
      expect(done.exitCode).toBe(3);
      expect(done.finishedAt).toBeString();
      const logs = await rt.logs(id, {});
      let text = "";
      for await (const chunk of logs) text += chunk.toString();
      expect(text).toBe("out\n");
    });

    t("runs commands in a running container with their exit code and output", async () => {
      const id = await rt.createContainer(spec({ cmd: ["sleep", "1000"] }));
      await rt.startContainer(id);
      expect(await rt.exec(id, ["echo", "hi"])).toMatchObject({ exitCode: 0, stdout: "hi\n" });
      expect((await rt.exec(id, ["sh", "-c", "exit 4"])).exitCode).toBe(4);
    });

    t("attach joins the main process: stdin in, stdout out; missing and stopped containers are refused", async () => {
      const id = await rt.createContainer(spec({ cmd: ["cat"], stdin: true }));
      await rt.startContainer(id);
      const s = await rt.attachStream(id, { stdin: true, stdout: true, stderr: true });
      expect(s.tty).toBe(false);
      let out = "";
      s.stdout.on("data", (d: Uint8Array) => (out += Buffer.from(d).toString()));
      s.stdin!.write("ping\n");
      await until(async () => out === "ping\n");
      // Without stdinOnce, the end of this attach's stdin ends the attach, not the process.
      s.stdin!.end();
      await s.ended;
      expect((await rt.inspectContainer(id)).state).toBe("running");
      await expect(rt.attachStream(`absent-${run}`, { stdout: true })).rejects.toBeInstanceOf(NotFoundError);
      const stopped = await rt.createContainer(spec({ cmd: ["cat"], stdin: true }));
      await expect(rt.attachStream(stopped, { stdin: true })).rejects.toBeInstanceOf(NotRunningError);
    });

    t("stops (SIGKILL after the timeout), kills, and removes; missing containers are fine", async () => {
      // sleep as PID 1 ignores SIGTERM: stop must fall back to SIGKILL after the timeout.
      const id = await rt.createContainer(spec({ cmd: ["sleep", "1000"] }));
      await rt.startContainer(id);
      const t0 = Date.now();
      await rt.stopContainer(id, 1);
      expect(Date.now() - t0).toBeLessThan(8000);
      expect((await rt.inspectContainer(id)).state).toBe("exited");
      await rt.stopContainer(id, 1);
      const k = await rt.createContainer(spec({ cmd: ["sleep", "1000"] }));
      await rt.startContainer(k);
      await rt.killContainer(k, "SIGKILL");
      const killed = await until(async () => {
        const i = await rt.inspectContainer(k);
        return i.state === "exited" && i;
      });
      expect(killed.exitCode).toBe(137);
      await rt.removeContainer(id);
      await rt.removeContainer(id);
      expect(rt.inspectContainer(id)).rejects.toBeInstanceOf(NotFoundError);
    });

    t("a container joins another's network namespace", async () => {
      // Docker shares IPC only from a container made "shareable".
      const sandbox = await rt.createContainer(spec({ cmd: ["sleep", "1000"], ipcMode: "shareable" }));
      await rt.startContainer(sandbox);
      const app = await rt.createContainer(spec({ cmd: ["sleep", "1000"], networkMode: `container:${sandbox}`, ipcMode: `container:${sandbox}` }));
      await rt.startContainer(app);
      const info = await rt.inspectContainer(app);
      expect(info.state).toBe("running");
      expect(info.ips).toEqual({});
    });

    t("images: present, absent, imported from a root filesystem tar, removed", async () => {
      expect((await rt.imagePresent(image))?.id).toStartWith("sha256:");
      expect(await rt.imagePresent(`bramble/absent-${run}:1`)).toBeUndefined();
      const ref = `bramble/contract-${run}:1`;
      await rt.importImage(buildTar([{ name: "hello.txt", data: "hi" }]), ref, ['CMD ["/nothing"]']);
      expect(await rt.imagePresent(ref)).toBeDefined();
      await rt.removeImage(ref);
      expect(await rt.imagePresent(ref)).toBeUndefined();
    });

    t("images: listed with their sizes; removal by ID refuses an image a container uses, then removes it once unused", async () => {
      const a = `bramble/contract-${run}:gc-a`;
      const b = `bramble/contract-${run}:gc-b`;
      // Distinct content, so the two are distinct images.
      await rt.importImage(buildTar([{ name: "a.txt", data: "a".repeat(3000) }]), a, ['CMD ["/nothing"]']);
      await rt.importImage(buildTar([{ name: "b.txt", data: "b".repeat(5000) }]), b, ['CMD ["/nothing"]']);
      const listed = await rt.listImages();
      const ia = listed.find((i) => i.repoTags.includes(a));
      const ib = listed.find((i) => i.repoTags.includes(b));
      expect(ia?.id).toStartWith("sha256:");
      expect(ib?.id).toStartWith("sha256:");
      expect(ia!.id).not.toBe(ib!.id);
      expect(ia!.sizeBytes).toBeGreaterThan(0);
      expect(ib!.sizeBytes).toBeGreaterThan(0);
      // A container that exists but does not run still holds its image.
      const user = await rt.createContainer(spec({ image: a }));
      await expect(rt.removeUnusedImage(ia!.id)).rejects.toBeInstanceOf(ImageInUseError);
      expect(await rt.imagePresent(a)).toBeDefined();
      await rt.removeUnusedImage(ib!.id);
      expect(await rt.imagePresent(b)).toBeUndefined();
      expect((await rt.listImages()).some((i) => i.id === ib!.id)).toBe(false);
      await rt.removeUnusedImage(ib!.id); // gone already: fine
      await rt.removeContainer(user);
      await rt.removeUnusedImage(ia!.id);
      expect(await rt.imagePresent(a)).toBeUndefined();
    });

    t("networks: a bridge with a subnet gives containers addresses in it", async () => {
      const net = `bramble-contract-${run}`;
      await rt.createNetwork({ name: net, subnet: "172.30.213.0/24", labels: { [LABELS.managed]: "true" } });
      expect(await rt.networkExists(net)).toBe(true);
      const id = await rt.createContainer(spec({ cmd: ["sleep", "1000"], networkMode: net }));
      await rt.startContainer(id);
      expect((await rt.inspectContainer(id)).ips[net]).toStartWith("172.30.213.");
      await rt.removeContainer(id);
      await rt.removeNetwork(net);
      expect(await rt.networkExists(net)).toBe(false);
      await rt.removeNetwork(net);
    });

    t("networks: inspect reports subnet, gateway, labels, options and attached containers; force removal detaches them", async () => {
      const net = `bramble-contract-${run}`;
      expect(await rt.inspectNetwork(net)).toBeUndefined();
      const masq = "com.docker.network.bridge.enable_ip_masquerade";
      await rt.createNetwork({ name: net, subnet: "172.30.214.0/24", gateway: "172.30.214.1", labels: { [LABELS.managed]: "true" }, options: { [masq]: "false" } });
      const id = await rt.createContainer(spec({ cmd: ["sleep", "1000"], networkMode: net }));
      await rt.startContainer(id);
      const info = await rt.inspectNetwork(net);
      expect(info).toMatchObject({ name: net, subnet: "172.30.214.0/24", gateway: "172.30.214.1", labels: { [LABELS.managed]: "true" }, options: { [masq]: "false" }, containers: [id] });
      await expect(rt.removeNetwork(net)).rejects.toThrow(/active endpoints/);
      await rt.removeNetwork(net, { force: true });
      expect(await rt.inspectNetwork(net)).toBeUndefined();
      await rt.removeContainer(id);
    });
  });
}
