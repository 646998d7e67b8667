import { createCipheriv, createHash, hkdfSync } from 'node:crypto';
import { gcmsiv } from '@noble/ciphers/aes.js';
import { describe, expect, it } from 'vitest';
import { generateCoreKeys, type CoreKeys } from '../keys.ts';
import { CodeCipher, type VersionWindow } from './code-cipher.ts';

/** Seeded bytes (AES-256-CTR keystream under a hash of the seed): the same cases on every run. */
function seeded(seed: string): (length: number) => Buffer {
  const stream = createCipheriv('aes-256-ctr', createHash('sha256').update(seed).digest(), Buffer.alloc(16));
  return (length) => stream.update(Buffer.alloc(length));
}

/**
 * The cipher as it was before the fast path, through noble's full `gcmsiv`: every code it issued must
 * still convert, and the same codes must come out.
 */
function nobleCodes(keys: CoreKeys) {
  const keyOf = (institutionId: string, version: number) => {
    const master = keys.masterKey(version);
    if (!master) return undefined;
    return new Uint8Array(
      hkdfSync('sha256', master, new Uint8Array(0), `renkei:institution-code:${institutionId}`, 32),
    );
  };
  return {
    encode(institutionId: string, version: number, linkingCode: Uint8Array): string {
      const sealed = gcmsiv(keyOf(institutionId, version)!, new Uint8Array(12)).encrypt(linkingCode);
      return Buffer.concat([Buffer.from([version]), sealed]).toString('base64url');
    },
    decode(institutionId: string, code: string, window: VersionWindow): Uint8Array | undefined {
      const bytes = Buffer.from(code, 'base64url');
      if (bytes.length !== 33) return undefined;
      const version = bytes[0]!;
      if (version > window.current || version < window.current - window.previous || version < 1) {
        return undefined;
      }
      const key = keyOf(institutionId, version);
      if (!key) return undefined;
      try {
        return gcmsiv(key, new Uint8Array(12)).decrypt(bytes.subarray(1));
      } catch {
        return undefined;
      }
    },
  };
}

function twoVersionKeys(): CoreKeys {
  const keys = generateCoreKeys();
  keys.ensureMasterKey(2);
  return keys;
}

const A = '131016';
const B = '132012';
const WINDOW: VersionWindow = { current: 2, previous: 1 };

/** Every way we could think of to present a code that is not the institution's. */
function refusedVariants(code: string, otherInstitutionsCode: string): string[] {
  const bytes = Buffer.from(code, 'base64url');
  const variants: string[] = [otherInstitutionsCode];
  for (let bit = 0; bit < bytes.length * 8; bit++) {
    const flipped = Buffer.from(bytes);
    flipped[bit >> 3]! ^= 1 << (bit & 7);
    variants.push(flipped.toString('base64url'));
  }
  for (const version of [0, 3, 255]) {
    const other = Buffer.from(bytes);
    other[0] = version;
    variants.push(other.toString('base64url'));
  }
  variants.push(
    '',
    code.slice(0, 43),
    code.slice(1),
    `${code}AAAA`,
    bytes.subarray(0, 32).toString('base64url'),
    Buffer.concat([bytes, Buffer.alloc(1)]).toString('base64url'),
    `${code.slice(0, 20)}!${code.slice(21)}`,
    `${code.slice(0, 43)}=`,
    `${code.slice(0, 40)}====`,
    '?'.repeat(44),
  );
  return variants;
}

describe('institution codes in batches', () => {
  it('issues byte for byte the codes that noble’s gcmsiv issued, one at a time and in batches', () => {
    const keys = twoVersionKeys();
    const cipher = new CodeCipher(keys);
    const noble = nobleCodes(keys);
    const random = seeded('issues the same codes');
    const linkingCodes = Array.from({ length: 1000 }, () => new Uint8Array(random(16)));
    for (const [institution, version] of [
      [A, 1],
      [B, 1],
      [A, 2],
    ] as const) {
      const expected = linkingCodes.map((linkingCode) => noble.encode(institution, version, linkingCode));
      expect(cipher.encodeMany(institution, version, linkingCodes)).toEqual(expected);
      expect(linkingCodes.map((l) => cipher.encode(institution, version, l))).toEqual(expected);
    }
  });

  it('converts every code that noble’s gcmsiv issued into the code it would issue the other institution', () => {
    const keys = twoVersionKeys();
    const cipher = new CodeCipher(keys);
    const noble = nobleCodes(keys);
    const random = seeded('converts old codes');
    const linkingCodes = Array.from({ length: 1000 }, () => new Uint8Array(random(16)));
    // Issued under both versions of the window, mixed in one batch.
    const codes = linkingCodes.map((l, i) => noble.encode(A, 1 + (i % 2), l));
    const converted = cipher.convertMany(A, WINDOW, codes, B, 2);
    expect(converted).toEqual(linkingCodes.map((l) => noble.encode(B, 2, l)));
    expect(cipher.decodeMany(A, codes, WINDOW).map((l) => l && Buffer.from(l).toString('hex'))).toEqual(
      linkingCodes.map((l) => Buffer.from(l).toString('hex')),
    );
  });

  it('refuses in a batch exactly the codes decode refuses: another institution’s, a flipped bit, a wrong version or length', () => {
    const keys = twoVersionKeys();
    const cipher = new CodeCipher(keys);
    const noble = nobleCodes(keys);
    const random = seeded('refuses forgeries');
    const codes: string[] = [];
    for (let i = 0; i < 8; i++) {
      const linkingCode = new Uint8Array(random(16));
      const code = cipher.encode(A, 1 + (i % 2), linkingCode);
      codes.push(code, ...refusedVariants(code, cipher.encode(B, 2, linkingCode)));
    }
    const byNoble = codes.map((code) => noble.decode(A, code, WINDOW));
    const oneByOne = codes.map((code) => cipher.decode(A, code, WINDOW));
    const batch = cipher.decodeMany(A, codes, WINDOW);
    const converted = cipher.convertMany(A, WINDOW, codes, B, 1);
    const hex = (l: Uint8Array | undefined) => l && Buffer.from(l).toString('hex');

    expect(batch.map(hex)).toEqual(byNoble.map(hex));
    expect(oneByOne.map(hex)).toEqual(byNoble.map(hex));
    expect(converted).toEqual(byNoble.map((l) => l && noble.encode(B, 1, l)));
    // Only the 8 genuine codes open: every variant is refused.
    expect(batch.filter(Boolean)).toHaveLength(8);
    expect(codes).toHaveLength(8 * (1 + 1 + 33 * 8 + 3 + 10));
  });

  it('opens a 45th character as decode always has: Node’s decoder drops its 6 bits (PersonCode refuses it on the wire)', () => {
    const keys = twoVersionKeys();
    const cipher = new CodeCipher(keys);
    const linkingCode = new Uint8Array(seeded('lenient')(16));
    const code = `${cipher.encode(A, 1, linkingCode)}A`;
    expect(nobleCodes(keys).decode(A, code, WINDOW)).toEqual(linkingCode);
    expect(cipher.decodeMany(A, [code], WINDOW)).toEqual([linkingCode]);
  });

  it('refuses codes of a version outside the window, or of a version whose master key is gone', () => {
    const keys = twoVersionKeys();
    const cipher = new CodeCipher(keys);
    const random = seeded('window');
    const linkingCode = new Uint8Array(random(16));
    const codes = [cipher.encode(A, 1, linkingCode), cipher.encode(A, 2, linkingCode)];
    expect(cipher.convertMany(A, { current: 2, previous: 0 }, codes, B, 2)).toEqual([
      undefined,
      cipher.encode(B, 2, linkingCode),
    ]);
    expect(cipher.decodeMany(A, codes, { current: 1, previous: 0 })[1]).toBeUndefined();

    const withoutVersion2 = new CodeCipher({
      ...keys,
      masterKey: (v) => (v === 1 ? keys.masterKey(1) : undefined),
    });
    expect(withoutVersion2.decodeMany(A, codes, WINDOW).map(Boolean)).toEqual([true, false]);
    expect(() => withoutVersion2.convertMany(A, WINDOW, codes, B, 2)).toThrow(TypeError);
    expect(() => withoutVersion2.encodeMany(A, 2, [linkingCode])).toThrow(TypeError);
  });

  it('issues the same codes after its cache of derived keys has dropped them', () => {
    const keys = twoVersionKeys();
    const cipher = new CodeCipher(keys, { maxCachedKeys: 2 });
    const noble = nobleCodes(keys);
    const linkingCode = new Uint8Array(seeded('cache')(16));
    const institutions = ['131016', '132012', '152048', '131041'];
    for (let round = 0; round < 2; round++) {
      for (const institution of institutions) {
        const code = cipher.encode(institution, 1, linkingCode);
        expect(code).toBe(noble.encode(institution, 1, linkingCode));
        expect(cipher.decode(institution, code, WINDOW)).toEqual(linkingCode);
      }
    }
  });

  it('takes only 16-byte linking codes, as a TypeError', () => {
    const cipher = new CodeCipher(generateCoreKeys());
    expect(() => cipher.encodeMany(A, 1, [new Uint8Array(16), new Uint8Array(15)])).toThrow(TypeError);
    expect(cipher.encodeMany(A, 1, [])).toEqual([]);
    expect(cipher.convertMany(A, WINDOW, [], B, 1)).toEqual([]);
  });
});
