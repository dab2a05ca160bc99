import { runtimeContract } from "../contract";
import { FakeRuntime } from "./fake";

runtimeContract("fake", async () => ({ runtime: new FakeRuntime(["bramble/busybox:test"]), image: "bramble/busybox:test" }));
