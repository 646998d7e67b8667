import { createCipheriv, createHash } from 'node:crypto';
import { gcmsiv } from '@noble/ciphers/aes.js';
import { describe, expect, it } from 'vitest';
import { OneBlockGcmSiv } from './gcm-siv-blocks.ts';

/** Seeded bytes (AES-256-CTR keystream under a hash of the seed): the same cases on every run. */
function seeded(seed: string): (length: number) => Buffer {
  const stream = createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16));
  return (length) => stream.update(Buffer.alloc(length));
}

const hex = (text: string) => Buffer.from(text.replace(/\s+/g, ''), 'hex');

describe('AES-256-GCM-SIV for one-block plaintexts', () => {
  it('matches RFC 8452 appendix C.2 for its 16-byte plaintext without AAD', () => {
    // Typed in from RFC 8452, appendix C.2, "Plaintext (16 bytes) = 01000000000000000000000000000000", "AAD (0 bytes)".
    const key = hex('01000000000000000000000000000000 00000000000000000000000000000000');
    const nonce = hex('030000000000000000000000');
    const plaintext = hex('01000000000000000000000000000000');
    const result = hex('85a01b63025ba19b7fd3ddfc033b3e76 c9eac6fa700942702e90862383c6c366');

    const cipher = new OneBlockGcmSiv(key, nonce);
    const { ciphertexts, tags } = cipher.seal(plaintext);
    expect(Buffer.concat([ciphertexts, tags]).toString('hex')).toBe(result.toString('hex'));
    const opened = cipher.open(result.subarray(0, 16), result.subarray(16));
    expect([...opened.authentic]).toEqual([1]);
    expect(opened.plaintexts.toString('hex')).toBe(plaintext.toString('hex'));
  });

  it("seals byte for byte as noble's gcmsiv, for 2,000 random keys and nonces and 8,000 blocks", () => {
    const random = seeded('seal agrees with noble');
    let compared = 0;
    for (let k = 0; k < 2000; k++) {
      const key = random(32);
      // Half of the keys under the codes' zero nonce, half under random ones.
      const nonce = k % 2 === 0 ? Buffer.alloc(12) : random(12);
      const plaintexts = random(4 * 16);
      const { ciphertexts, tags } = new OneBlockGcmSiv(key, nonce).seal(plaintexts);
      for (let i = 0; i < 4; i++) {
        const block = (b: Buffer) => b.subarray(i * 16, (i + 1) * 16);
        const expected = Buffer.from(gcmsiv(key, nonce).encrypt(block(plaintexts)));
        expect(Buffer.concat([block(ciphertexts), block(tags)]).equals(expected)).toBe(true);
        compared++;
      }
    }
    expect(compared).toBe(8000);
  });

  it('refuses every tampered block that noble refuses, and opens every untampered one as noble does', () => {
    const random = seeded('open agrees with noble');
    for (let k = 0; k < 500; k++) {
      const key = random(32);
      const nonce = k % 2 === 0 ? Buffer.alloc(12) : random(12);
      const cipher = new OneBlockGcmSiv(key, nonce);
      const plaintexts = random(8 * 16);
      const { ciphertexts, tags } = cipher.seal(plaintexts);
      // Blocks 0, 2, 4, 6 keep their bytes; in 1, 3, 5, 7 one bit flips, in the ciphertext or the tag.
      const flips = random(8);
      for (let i = 1; i < 8; i += 2) {
        const bit = flips[i]! % 256;
        const target = bit < 128 ? ciphertexts : tags;
        target[i * 16 + ((bit % 128) >> 3)]! ^= 1 << (bit & 7);
      }
      const { plaintexts: opened, authentic } = cipher.open(ciphertexts, tags);
      for (let i = 0; i < 8; i++) {
        const sealed = Buffer.concat([
          ciphertexts.subarray(i * 16, (i + 1) * 16),
          tags.subarray(i * 16, (i + 1) * 16),
        ]);
        let byNoble: Buffer | undefined;
        try {
          byNoble = Buffer.from(gcmsiv(key, nonce).decrypt(sealed));
        } catch {
          byNoble = undefined;
        }
        expect(authentic[i]).toBe(i % 2 === 0 ? 1 : 0);
        expect(byNoble === undefined).toBe(i % 2 === 1);
        if (byNoble) expect(opened.subarray(i * 16, (i + 1) * 16).equals(byNoble)).toBe(true);
      }
    }
  });

  it('refuses a block sealed under another key or another nonce', () => {
    const random = seeded('other key');
    const key = random(32);
    const { ciphertexts, tags } = new OneBlockGcmSiv(key, Buffer.alloc(12)).seal(random(16));
    expect([...new OneBlockGcmSiv(random(32), Buffer.alloc(12)).open(ciphertexts, tags).authentic]).toEqual([
      0,
    ]);
    expect([...new OneBlockGcmSiv(key, random(12)).open(ciphertexts, tags).authentic]).toEqual([0]);
    expect([...new OneBlockGcmSiv(key, Buffer.alloc(12)).open(ciphertexts, tags).authentic]).toEqual([1]);
  });

  it('takes only 32-byte keys, 12-byte nonces and whole blocks, as a TypeError', () => {
    expect(() => new OneBlockGcmSiv(Buffer.alloc(16), Buffer.alloc(12))).toThrow(TypeError);
    expect(() => new OneBlockGcmSiv(Buffer.alloc(32), Buffer.alloc(16))).toThrow(TypeError);
    const cipher = new OneBlockGcmSiv(Buffer.alloc(32), Buffer.alloc(12));
    expect(() => cipher.seal(Buffer.alloc(17))).toThrow(TypeError);
    expect(() => cipher.open(Buffer.alloc(16), Buffer.alloc(32))).toThrow(TypeError);
  });
});
