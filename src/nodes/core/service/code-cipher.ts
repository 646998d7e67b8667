/**
 * Institution-specific codes by keyed derivation (BRIEF.md "Codes by keyed derivation").
 *
 * An institution's code for a person = `version ‖ AES-256-GCM-SIV(k, nonce = 0¹², linking code)`,
 * where `k = HKDF-SHA256(master key of that version, info = "renkei:institution-code:<id>")`.
 * 1 + 16 + 16 = 33 bytes = 44 base64url characters (`PersonCode`).
 *
 * - Deterministic: the same person always has the same code at an institution (its tables join on
 *   it), which is why the AEAD is nonce-misuse resistant GCM-SIV with a fixed nonce. We considered
 *   AES-GCM with a nonce derived from the plaintext, but that is a home-made SIV; GCM-SIV is the
 *   standard construction for exactly this (RFC 8452).
 * - Different at every institution: the key differs.
 * - Forgery-evident: the 16-byte tag fails for a forged or mistyped code, or for a code presented by
 *   an institution it was not issued to (different key), so such a code is refused, never converted
 *   into someone else's (a 2⁻¹²⁸ chance of a forgery passing).
 * - Conversion is decrypt-then-encrypt in memory, with no database lookup.
 *
 * How it runs fast, and why that is not hand-rolled cryptography in the sense that matters.
 * Through @noble/ciphers' `gcmsiv` a conversion cost ~50 µs (about 19,000 a second): pure-JS AES,
 * and the per-message key derivation of RFC 8452 §4 redone for every code. Here:
 * - The primitives are not ours. Every AES block goes through node:crypto (OpenSSL, AES-NI),
 *   `aes-256-ecb` with padding off, a whole batch's blocks in one `update` call; POLYVAL is
 *   @noble/ciphers' own table-driven multiplication (its `Polyval` class, whose one-block step we
 *   call directly so as not to allocate per code).
 * - The construction is RFC 8452's, unchanged, specialised to what a code is (gcm-siv-blocks.ts): a
 *   fixed nonce and no AAD make the derived message-authentication and message-encryption keys
 *   constant per institution and version, so they are derived once (§4) and cached; a plaintext of one
 *   block needs one CTR keystream block, AES(encKey, tag with its top bit set) (§4, §5); and
 *   POLYVAL(H, P ‖ L) = ((P•H) ⊕ L)•H = P•(H•H) ⊕ L•H, by the bilinearity of the dot product
 *   (§3), so one multiplication per code by the constant H•H, plus the constant L•H.
 * - It is checked against RFC 8452's test vector for a 16-byte plaintext without AAD (appendix C.2)
 *   and byte for byte against noble's full `gcmsiv`, sealing and opening, tampered blocks included,
 *   on thousands of random keys (gcm-siv-blocks.test.ts); and codes issued by the noble-based cipher
 *   of before convert unchanged, while forged and mistyped ones are refused exactly as `decode` always
 *   refused them (code-cipher.test.ts).
 * We considered node:crypto's own GCM-SIV, but Node 20's OpenSSL 3.0 has none (3.2 added it), nor has
 * WebCrypto; and a native dependency for one mode was not worth it when OpenSSL's AES and noble's
 * POLYVAL already do the work.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import type { CoreKeys } from '../keys.ts';
import { OneBlockGcmSiv } from './gcm-siv-blocks.ts';

export const LINKING_CODE_BYTES = 16;
const BLOCK = 16;
const CODE_BYTES = 1 + LINKING_CODE_BYTES + BLOCK;
/** 33 bytes are exactly 44 base64url characters, without padding. */
const CODE_CHARS = 44;
const NONCE = new Uint8Array(12);
/**
 * Derived keys kept in memory at once, least recently used dropped first. One costs ~35 KiB (mostly
 * the POLYVAL table) and ~0.5 ms to derive again; 2,048 hold every active institution of a large
 * deployment in ~70 MiB.
 */
const MAX_CACHED_KEYS = 2048;

/** Which key versions of an institution's codes are accepted. */
export interface VersionWindow {
  /** The institution's current key version. */
  current: number;
  /** How many versions before the current one are still accepted. */
  previous: number;
}

/** Codes parsed into one buffer (33 bytes each), and the positions of those worth opening by version. */
interface ParsedCodes {
  versions: Map<number, number[]>;
  bytes: Buffer;
}

export class CodeCipher {
  /** Derived keys by `version:institutionId`: HKDF and RFC 8452's key derivation run once each. */
  private readonly derived = new Map<string, OneBlockGcmSiv>();

  private readonly maxCachedKeys: number;

  constructor(
    private readonly keys: CoreKeys,
    options: { maxCachedKeys?: number } = {},
  ) {
    this.maxCachedKeys = options.maxCachedKeys ?? MAX_CACHED_KEYS;
  }

  /** The institution's code (base64url, 44 characters) for a linking code, under a key version. */
  encode(institutionId: string, version: number, linkingCode: Uint8Array): string {
    return this.encodeMany(institutionId, version, [linkingCode])[0]!;
  }

  /**
   * The institution's codes for many linking codes, under one key version, in order.
   * Throws a TypeError when a linking code is not 16 bytes or the version has no master key.
   */
  encodeMany(institutionId: string, version: number, linkingCodes: readonly Uint8Array[]): string[] {
    const key = this.institutionKey(institutionId, version);
    const plain = Buffer.alloc(linkingCodes.length * BLOCK);
    linkingCodes.forEach((linkingCode, i) => {
      if (linkingCode.length !== LINKING_CODE_BYTES) throw new TypeError('a linking code is 16 bytes');
      plain.set(linkingCode, i * BLOCK);
    });
    return splitCodes(sealCodes(key, version, plain));
  }

  /**
   * The linking code inside an institution's code, or undefined when the code is not one this core
   * issued to that institution under an accepted key version (forged, mistyped, someone else's).
   */
  decode(institutionId: string, code: string, window: VersionWindow): Uint8Array | undefined {
    return this.decodeMany(institutionId, [code], window)[0];
  }

  /** `decode` for many codes of one institution, in order: undefined for each code that does not open. */
  decodeMany(
    institutionId: string,
    codes: readonly string[],
    window: VersionWindow,
  ): (Uint8Array | undefined)[] {
    const { plain, opened } = this.open(institutionId, codes, window);
    return codes.map((_, i) =>
      opened[i] ? new Uint8Array(plain.buffer, plain.byteOffset + i * BLOCK, BLOCK) : undefined,
    );
  }

  /**
   * Codes of one institution converted into another's codes under `toVersion`, in order: undefined
   * for each code that `decode` would refuse. Throws a TypeError when `toVersion` has no master key.
   */
  convertMany(
    fromInstitution: string,
    window: VersionWindow,
    codes: readonly string[],
    toInstitution: string,
    toVersion: number,
  ): (string | undefined)[] {
    const key = this.institutionKey(toInstitution, toVersion);
    const { plain, opened } = this.open(fromInstitution, codes, window);
    let count = 0;
    for (let i = 0; i < codes.length; i++) {
      if (!opened[i]) continue;
      if (count !== i) plain.copyWithin(count * BLOCK, i * BLOCK, (i + 1) * BLOCK);
      count++;
    }
    const converted = splitCodes(sealCodes(key, toVersion, plain.subarray(0, count * BLOCK)));
    let next = 0;
    return codes.map((_, i) => (opened[i] ? converted[next++] : undefined));
  }

  /** The lookup key of a resident record code: the core stores this, never the code itself. */
  residentKey(residentRecordCode: string): string {
    return createHmac('sha256', this.keys.residentKey).update(residentRecordCode, 'utf8').digest('base64url');
  }

  /** A provision record's person key: an HMAC of the linking code, neither a code nor the linking code. */
  personKey(linkingCode: Uint8Array): string {
    return createHmac('sha256', this.keys.recordsKey).update(linkingCode).digest('base64url');
  }

  /** Each code's linking code (block i of `plain`) where `opened[i]` is 1. */
  private open(
    institutionId: string,
    codes: readonly string[],
    window: VersionWindow,
  ): { plain: Buffer; opened: Uint8Array } {
    const plain = Buffer.alloc(codes.length * BLOCK);
    const opened = new Uint8Array(codes.length);
    const { versions, bytes } = parseCodes(codes, window);
    for (const [version, positions] of versions) {
      const key = this.institutionKeyIfAny(institutionId, version);
      if (!key) continue;
      const ciphertexts = Buffer.alloc(positions.length * BLOCK);
      const tags = Buffer.alloc(positions.length * BLOCK);
      // Byte loops rather than Buffer#copy: for 16 bytes, its call cost was a sixth of a conversion.
      positions.forEach((position, j) => {
        const at = position * CODE_BYTES + 1;
        for (let k = 0; k < BLOCK; k++) {
          ciphertexts[j * BLOCK + k] = bytes[at + k]!;
          tags[j * BLOCK + k] = bytes[at + BLOCK + k]!;
        }
      });
      const { plaintexts, authentic } = key.open(ciphertexts, tags);
      positions.forEach((position, j) => {
        if (!authentic[j]) return;
        for (let k = 0; k < BLOCK; k++) plain[position * BLOCK + k] = plaintexts[j * BLOCK + k]!;
        opened[position] = 1;
      });
    }
    return { plain, opened };
  }

  private institutionKey(institutionId: string, version: number): OneBlockGcmSiv {
    const derived = this.institutionKeyIfAny(institutionId, version);
    // Rotation creates a version's master key before any institution moves to it; never make one here,
    // which would silently orphan every code issued under a lost key.
    if (!derived) throw new TypeError(`no master key of version ${version}`);
    return derived;
  }

  private institutionKeyIfAny(institutionId: string, version: number): OneBlockGcmSiv | undefined {
    const cacheKey = `${version}:${institutionId}`;
    const cached = this.derived.get(cacheKey);
    if (cached) {
      this.derived.delete(cacheKey);
      this.derived.set(cacheKey, cached);
      return cached;
    }
    const master = this.keys.masterKey(version);
    if (!master) return undefined;
    const key = Buffer.from(
      hkdfSync('sha256', master, new Uint8Array(0), `renkei:institution-code:${institutionId}`, 32),
    );
    const entry = new OneBlockGcmSiv(key, NONCE);
    key.fill(0);
    this.derived.set(cacheKey, entry);
    if (this.derived.size > this.maxCachedKeys) {
      const oldest = this.derived.keys().next();
      if (!oldest.done) this.derived.delete(oldest.value);
    }
    return entry;
  }
}

/**
 * Codes decoded as `decode` always has (Node's base64url decoder, then exactly 33 bytes, then a
 * version in the window), grouped by version. A 44-character code is decoded in place; any other
 * length through `Buffer.from`, so that odd inputs are judged by the very same decoder.
 */
function parseCodes(codes: readonly string[], window: VersionWindow): ParsedCodes {
  const bytes = Buffer.alloc(codes.length * CODE_BYTES);
  const versions = new Map<number, number[]>();
  const oldest = Math.max(1, window.current - window.previous);
  codes.forEach((code, i) => {
    const at = i * CODE_BYTES;
    let length: number;
    if (code.length === CODE_CHARS) {
      length = bytes.write(code, at, CODE_BYTES, 'base64url');
    } else {
      const decoded = Buffer.from(code, 'base64url');
      length = decoded.length;
      if (length === CODE_BYTES) decoded.copy(bytes, at);
    }
    if (length !== CODE_BYTES) return;
    const version = bytes[at]!;
    if (version > window.current || version < oldest) return;
    const positions = versions.get(version);
    if (positions) positions.push(i);
    else versions.set(version, [i]);
  });
  return { versions, bytes };
}

/** One-block plaintexts sealed into codes `version ‖ ciphertext ‖ tag`, concatenated. */
function sealCodes(key: OneBlockGcmSiv, version: number, plain: Uint8Array): Buffer {
  const count = plain.length / BLOCK;
  const { ciphertexts, tags } = key.seal(plain);
  const codes = Buffer.allocUnsafe(count * CODE_BYTES);
  for (let i = 0; i < count; i++) {
    const at = i * CODE_BYTES;
    codes[at] = version;
    for (let k = 0; k < BLOCK; k++) {
      codes[at + 1 + k] = ciphertexts[i * BLOCK + k]!;
      codes[at + 1 + BLOCK + k] = tags[i * BLOCK + k]!;
    }
  }
  return codes;
}

/** Concatenated 33-byte codes as base64url strings of 44 characters, encoded in one call. */
function splitCodes(codes: Buffer): string[] {
  const count = codes.length / CODE_BYTES;
  if (count === 1) return [codes.toString('base64url')];
  const text = codes.toString('base64url');
  return Array.from({ length: count }, (_, i) => text.slice(i * CODE_CHARS, (i + 1) * CODE_CHARS));
}
