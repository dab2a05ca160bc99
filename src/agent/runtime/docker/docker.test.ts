import { ensureTestImage } from "../../images/testimage";
import { runtimeContract } from "../contract";
import { dockerForTests } from "./testing";

runtimeContract("docker", async () => {
  const runtime = await dockerForTests("Docker runtime contract");
  if (!runtime) return undefined;
  return { runtime, image: await ensureTestImage(runtime) };
});
