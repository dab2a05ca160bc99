// The keys in use: the write key (the key file's first) and every key that may still decrypt.
// Keys retired from the file stay readable in memory until the process ends: an event published
// just before a rotation finished may still be on its way to a watcher.
import { seal, unseal, type EncryptionKey } from "./envelope";

export class Keyring {
  #write: EncryptionKey;
  readonly #readable = new Map<string, EncryptionKey>();

  constructor(keys: readonly EncryptionKey[]) {
    this.#write = keys[0]!;
    this.use(keys);
  }

  /** The key file's keys, in its order; the first becomes the write key. */
  use(keys: readonly EncryptionKey[]): void {
    this.#write = keys[0]!;
    for (const k of keys) this.#readable.set(k.name, k);
  }

  get writeKey(): EncryptionKey {
    return this.#write;
  }

  seal(storeKey: string, plaintext: string): string {
    return seal(this.#write, storeKey, plaintext);
  }

  unseal(storeKey: string, value: string): string {
    return unseal(this.#readable, storeKey, value);
  }
}
