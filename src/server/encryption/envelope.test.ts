import { describe, expect, test } from "bun:test";
import { DecryptionError, ENVELOPE_PREFIX, sealedWith, seal, unseal, type EncryptionKey } from "./envelope";

const key = (name: string, fill: number, size = 32): EncryptionKey => ({ name, secret: new Uint8Array(size).fill(fill) });
const k1 = key("k1", 1);
const keys = new Map([[k1.name, k1]]);
const storeKey = "/registry/core/secrets/default/db";

describe("AES-GCM envelope", () => {
  test("round-trips, with the key name in the prefix and a fresh nonce each time", () => {
    const a = seal(k1, storeKey, '{"data":{"p":"aHVudGVyMg=="}}');
    const b = seal(k1, storeKey, '{"data":{"p":"aHVudGVyMg=="}}');
    expect(a.startsWith(`${ENVELOPE_PREFIX}k1:`)).toBe(true);
    expect(a).not.toBe(b);
    expect(sealedWith(a)).toBe("k1");
    expect(unseal(keys, storeKey, a)).toBe('{"data":{"p":"aHVudGVyMg=="}}');
  });

  test("AES-128 and AES-192 keys work as upstream's aesgcm accepts them", () => {
    for (const size of [16, 24]) {
      const k = key(`k${size}`, 9, size);
      expect(unseal(new Map([[k.name, k]]), storeKey, seal(k, storeKey, "v"))).toBe("v");
    }
  });

  test("a plain value passes through (the identity provider)", () => {
    expect(sealedWith('{"kind":"Secret"}')).toBeUndefined();
    expect(unseal(keys, storeKey, '{"kind":"Secret"}')).toBe('{"kind":"Secret"}');
  });

  test("refuses: an unknown key, another key under the same name, a value moved to another key, tampering, truncation", () => {
    const sealed = seal(k1, storeKey, "secret");
    expect(() => unseal(new Map(), storeKey, sealed)).toThrow(DecryptionError);
    expect(() => unseal(new Map([["k1", key("k1", 2)]]), storeKey, sealed)).toThrow(/does not decrypt it/);
    expect(() => unseal(keys, "/registry/core/secrets/default/other", sealed)).toThrow(DecryptionError);
    const body = Buffer.from(sealed.slice(`${ENVELOPE_PREFIX}k1:`.length), "base64");
    body[body.length - 20]! ^= 1;
    expect(() => unseal(keys, storeKey, `${ENVELOPE_PREFIX}k1:${body.toString("base64")}`)).toThrow(DecryptionError);
    expect(() => unseal(keys, storeKey, `${ENVELOPE_PREFIX}k1:AAAA`)).toThrow(/truncated/);
  });
});
