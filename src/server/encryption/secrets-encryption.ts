// Secrets encryption at rest, k3s's --secrets-encryption: start-up (create the key, check every
// stored Secret decrypts, encrypt plain ones in place) and the operations behind
// `bramble secrets-encrypt status|rotate-keys|reencrypt`.
//
// Key rotation is crash-safe in three steps, each of which leaves every value readable:
//   1. the key file gets the new key first (it encrypts from now on), the old keys after it;
//   2. every stored value (current and history) is rewritten with the new key, row by row;
//   3. once a scan finds no value on another key, the old keys leave the file.
// A crash before 3 leaves the old keys in the file: nothing is lost, status shows the values
// still on them, and `reencrypt` (or another rotation) finishes the job.
import { chmodSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ApiError } from "../../api/errors";
import type { Logger } from "../../machinery/log";
import type { Store, ValueRewrite } from "../store/index";
import { DecryptionError, sealedWith, type EncryptionKey } from "./envelope";
import { EncryptingStore, SECRETS_PREFIX } from "./encrypting-store";
import { encryptionConfigPath, generateKey, readKeyFile, writeKeyFile } from "./key-file";
import { Keyring } from "./keyring";

export interface EncryptionStatus {
  enabled: boolean;
  keyFile?: string;
  /** The key new writes are sealed with. */
  currentKey?: string;
  /** Every key in the key file, the current one first. */
  keys?: string[];
  /** Secrets that exist now. */
  secrets?: number;
  /** Stored Secret values: current ones and the history the store keeps for watches. */
  storedValues?: number;
  onCurrentKey?: number;
  /** Stored values per other key name ("" for a damaged envelope). */
  onOtherKeys?: Record<string, number>;
  /** Stored values not encrypted at all. */
  plain?: number;
  allOnCurrentKey?: boolean;
}

export interface ReencryptResult {
  currentKey: string;
  /** Stored values rewritten (current and history). */
  rewritten: number;
  /** Keys taken out of the key file because nothing is sealed with them any more. */
  removedKeys: string[];
}

export interface SecretsEncryption {
  status(): Promise<EncryptionStatus>;
  rotateKeys(): Promise<ReencryptResult>;
  reencrypt(): Promise<ReencryptResult>;
}

export interface SetUpOptions {
  dataDir: string;
  /** --secrets-encryption was given. */
  requested: boolean;
  log: Logger;
}

/** Marker file beside the key file while plain values may still sit in the database's free pages. */
const SCRUB_PENDING = "scrub-pending";

/** Passes after the first rewrite that look for stragglers before the old keys stay put. */
const CLEANUP_PASSES = 5;

const secretName = (storeKey: string) => storeKey.slice(SECRETS_PREFIX.length);

/**
 * Returns the store the API server should use (the encrypting one when encryption is on) and the
 * operations. Throws one clear line when the key file and the store do not match, before anything
 * is written.
 */
export async function setUpSecretsEncryption(store: Store, opts: SetUpOptions): Promise<{ store: Store; encryption: SecretsEncryption }> {
  const path = encryptionConfigPath(opts.dataDir);
  const log = opts.log;
  if (!existsSync(path)) {
    if (!opts.requested) {
      // A deleted key file must not look like "encryption off": the Secrets would read as garbage.
      const sealed = (await store.list(SECRETS_PREFIX)).items.find((kv) => sealedWith(kv.value) !== undefined);
      if (sealed) throw new Error(`secrets encryption: Secret ${secretName(sealed.key)} is encrypted, but the key file ${path} is missing: restore it from a backup`);
      return { store, encryption: disabled };
    }
  }
  if (!store.rewriteValues) throw new Error("--secrets-encryption: this datastore cannot rewrite stored values in place");

  const fresh = !existsSync(path);
  let fileKeys: EncryptionKey[];
  if (fresh) {
    fileKeys = [generateKey()];
  } else {
    chmodSync(dirname(path), 0o700);
    chmodSync(path, 0o600);
    fileKeys = readKeyFile(path);
    if (!opts.requested) log.warn("secrets encryption stays on: the key file exists (started without --secrets-encryption)", { keyFile: path });
  }
  const keyring = new Keyring(fileKeys);
  const rewrite = (fn: ValueRewrite, scrubFreeSpace = false) => store.rewriteValues!(SECRETS_PREFIX, fn, { scrubFreeSpace });

  // Every stored value must decrypt with the file's keys before anything is written.
  const tally = await survey(store, keyring, path);
  if (fresh) writeKeyFile(path, fileKeys);
  // Set until the free space is scrubbed: a crash between the rewrite and the scrub must not
  // leave plain values in free pages for good.
  const scrubPending = join(dirname(path), SCRUB_PENDING);
  if (fresh || tally.plain! > 0 || existsSync(scrubPending)) {
    writeFileSync(scrubPending, "", { mode: 0o600 });
    // In place: revisions stay, so clients' resourceVersions and watches are unaffected. The
    // free space is scrubbed too, or deleted plain values would stay in the file's free pages.
    const sealed = await rewrite((key, value) => (sealedWith(value) === undefined ? keyring.seal(key, value) : undefined), true);
    rmSync(scrubPending, { force: true });
    log.info("secrets encryption: stored Secret values encrypted in place (resourceVersions unchanged)", { values: sealed, key: keyring.writeKey.name, keyFile: path });
  } else {
    log.info("secrets encryption on", { key: keyring.writeKey.name, keyFile: path });
  }
  if (tally.allOnCurrentKey === false && tally.plain === 0) {
    log.warn("secrets encryption: some stored Secrets are on an older key; run `bramble secrets-encrypt reencrypt`", { onOtherKeys: tally.onOtherKeys });
  }

  let busy = false;
  const exclusive = async <T>(what: string, op: () => Promise<T>): Promise<T> => {
    if (busy) throw new ApiError(409, "Conflict", `cannot ${what}: a key rotation or re-encryption is already running`);
    busy = true;
    try {
      return await op();
    } finally {
      busy = false;
    }
  };
  const setKeys = (keys: EncryptionKey[]) => {
    writeKeyFile(path, keys);
    keyring.use(keys);
    fileKeys = keys;
  };
  const reencryptAll = async (): Promise<ReencryptResult> => {
    const current = keyring.writeKey;
    let rewritten = await rewrite((key, value) => keyring.seal(key, keyring.unseal(key, value)));
    // Writes sealed just before the key changed may commit after the pass went by them: go over
    // what is not on the current key until a pass finds nothing, and only then drop old keys.
    const stragglers: ValueRewrite = (key, value) => (sealedWith(value) === current.name ? undefined : keyring.seal(key, keyring.unseal(key, value)));
    for (let pass = 0; pass < CLEANUP_PASSES; pass++) {
      const n = await rewrite(stragglers);
      rewritten += n;
      if (n === 0) {
        const removedKeys = fileKeys.filter((k) => k.name !== current.name).map((k) => k.name);
        if (removedKeys.length > 0) setKeys([current]);
        return { currentKey: current.name, rewritten, removedKeys };
      }
    }
    return { currentKey: current.name, rewritten, removedKeys: [] };
  };

  const encryption: SecretsEncryption = {
    status: async () => ({ ...(await survey(store, keyring, path)), keys: fileKeys.map((k) => k.name) }),
    rotateKeys: () =>
      exclusive("rotate keys", async () => {
        const key = generateKey(new Date(), new Set(fileKeys.map((k) => k.name)));
        setKeys([key, ...fileKeys]);
        const result = await reencryptAll();
        log.info("secrets encryption: keys rotated", { ...result });
        return result;
      }),
    reencrypt: () =>
      exclusive("re-encrypt", async () => {
        const result = await reencryptAll();
        log.info("secrets encryption: Secrets re-encrypted", { ...result });
        return result;
      }),
  };
  return { store: new EncryptingStore(store, keyring), encryption };
}

/** Counts stored values per key, checking that each decrypts (a read-only pass). */
async function survey(store: Store, keyring: Keyring, path: string): Promise<EncryptionStatus> {
  const current = keyring.writeKey.name;
  const onOtherKeys: Record<string, number> = {};
  let storedValues = 0;
  let onCurrentKey = 0;
  let plain = 0;
  await store.rewriteValues!(SECRETS_PREFIX, (key, value) => {
    storedValues++;
    const name = sealedWith(value);
    if (name === undefined) plain++;
    else if (name === current) onCurrentKey++;
    else onOtherKeys[name] = (onOtherKeys[name] ?? 0) + 1;
    if (name !== undefined) {
      try {
        keyring.unseal(key, value);
      } catch (e) {
        if (!(e instanceof DecryptionError)) throw e;
        throw new Error(`secrets encryption: Secret ${secretName(key)} cannot be decrypted with ${path}: ${e.message}`);
      }
    }
    return undefined;
  });
  const secrets = (await store.list(SECRETS_PREFIX)).items.length;
  return { enabled: true, keyFile: path, currentKey: current, secrets, storedValues, onCurrentKey, onOtherKeys, plain, allOnCurrentKey: onCurrentKey === storedValues };
}

const off = () => new ApiError(400, "BadRequest", "secrets encryption is off: start the server with --secrets-encryption");

const disabled: SecretsEncryption = {
  status: async () => ({ enabled: false }),
  rotateKeys: () => Promise.reject(off()),
  reencrypt: () => Promise.reject(off()),
};
