import { ensureTestImage } from "../../images/testimage";
import { runtimeContract } from "../contract";
import { dockerForTests, removeImageIfUnused } from "./testing";

runtimeContract("docker", async () => {
  const runtime = await dockerForTests("Docker runtime contract");
  if (!runtime) return undefined;
  const image = await ensureTestImage(runtime);
  return { runtime, image, cleanup: () => removeImageIfUnused(runtime, image) };
});
