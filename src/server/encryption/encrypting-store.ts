// A Store around any backend that seals Secrets on their way in and opens them on their way out,
// so the API server, its watch cache and the controllers see plain objects while the backend
// (rows, history, watch events it replays) holds only ciphertext. Other keys pass untouched.
import {
  RevisionConflictError,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type Watch,
  type WatchEvent,
  type WriteOptions,
} from "../store/index";
import type { Keyring } from "./keyring";

/** Where the API server keeps Secrets (objects/keys.ts: /registry/<group or core>/<plural>/). */
export const SECRETS_PREFIX = "/registry/core/secrets/";

export const isSecretKey = (key: string) => key.startsWith(SECRETS_PREFIX);

export class EncryptingStore implements Store {
  constructor(
    /** The backend, holding sealed values. */
    readonly inner: Store,
    private readonly keys: Keyring,
  ) {}

  async get(key: string): Promise<KeyValue | undefined> {
    const kv = await this.inner.get(key);
    return kv && this.#open(kv);
  }

  async list(prefix: string, opts?: ListOptions): Promise<ListResult> {
    const page = await this.inner.list(prefix, opts);
    return { ...page, items: page.items.map((kv) => this.#open(kv)) };
  }

  async create(key: string, value: string): Promise<KeyValue> {
    const kv = await this.inner.create(key, this.#seal(key, value));
    return { ...kv, value };
  }

  async update(key: string, value: string, expectedRevision: number, opts?: WriteOptions): Promise<KeyValue> {
    try {
      const kv = await this.inner.update(key, this.#seal(key, value), expectedRevision, opts);
      return { ...kv, value };
    } catch (e) {
      throw this.#openConflict(e);
    }
  }

  async delete(key: string, expectedRevision?: number): Promise<KeyValue> {
    try {
      return this.#open(await this.inner.delete(key, expectedRevision));
    } catch (e) {
      throw this.#openConflict(e);
    }
  }

  watch(prefix: string, fromRevision: number, onEvent: (e: WatchEvent) => void): Watch {
    return this.inner.watch(prefix, fromRevision, (e) => onEvent(this.#openEvent(e)));
  }

  currentRevision(): Promise<number> {
    return this.inner.currentRevision();
  }

  compactedRevision(): Promise<number> {
    return this.inner.compactedRevision();
  }

  compact(revision: number): Promise<void> {
    return this.inner.compact(revision);
  }

  flush(): Promise<void> {
    return this.inner.flush();
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  #seal(key: string, value: string): string {
    return isSecretKey(key) ? this.keys.seal(key, value) : value;
  }

  #open(kv: KeyValue): KeyValue {
    return isSecretKey(kv.key) && kv.value !== "" ? { ...kv, value: this.keys.unseal(kv.key, kv.value) } : kv;
  }

  #openEvent(e: WatchEvent): WatchEvent {
    if (!isSecretKey(e.kv.key)) return e;
    return { ...e, kv: this.#open(e.kv), ...(e.prev ? { prev: this.#open(e.prev) } : {}) };
  }

  #openConflict(e: unknown): unknown {
    return e instanceof RevisionConflictError ? new RevisionConflictError(e.key, this.#open(e.current)) : e;
  }
}
