// What the image garbage collector knows about each image, as upstream's image manager keeps it:
// when this agent first saw the image and when it last saw a container using it. In memory only,
// so after an agent restart every image is "first seen" at the restart and waits out the minimum
// age again — a restart never makes an image look older than it is.
import type { ContainerRuntime, ImageSummary } from "../runtime/runtime";

export interface ImageRecord {
  /** When this agent first listed the image (ms). */
  firstDetected: number;
  /** The last look (ms) at which a container, running or not, used it; undefined: never seen used. */
  lastUsed?: number;
}

/** One look at the engine: its images, and the IDs of images some container uses. */
export interface ImageSnapshot {
  at: number;
  images: ImageSummary[];
  inUse: Set<string>;
}

export class ImageUsageRecords {
  readonly records = new Map<string, ImageRecord>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Lists images and containers and updates the records: new images are first detected now,
   * images any container on the engine uses (of any cluster, any node, or not bramble's at all)
   * were last used now, and images that are gone are forgotten.
   */
  async detect(runtime: ContainerRuntime): Promise<ImageSnapshot> {
    // Containers first: an image pulled between the two calls is then simply new, never "unused".
    const containers = await runtime.listContainers({});
    const images = await runtime.listImages();
    const at = this.now();
    const inUse = new Set(containers.map((c) => c.imageId));
    const present = new Set<string>();
    for (const image of images) {
      present.add(image.id);
      const record = this.records.get(image.id) ?? { firstDetected: at };
      if (inUse.has(image.id)) record.lastUsed = at;
      this.records.set(image.id, record);
    }
    for (const id of this.records.keys()) if (!present.has(id)) this.records.delete(id);
    return { at, images, inUse };
  }
}
