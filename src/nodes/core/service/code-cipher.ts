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
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { gcmsiv } from '@noble/ciphers/aes.js';
import type { CoreKeys } from '../keys.ts';

export const LINKING_CODE_BYTES = 16;
const CODE_BYTES = 1 + LINKING_CODE_BYTES + 16;
const NONCE = new Uint8Array(12);

type Decrypt = (ciphertext: Uint8Array) => Uint8Array;

/** Which key versions of an institution's codes are accepted. */
export interface VersionWindow {
  /** The institution's current key version. */
  current: number;
  /** How many versions before the current one are still accepted. */
  previous: number;
}

export class CodeCipher {
  /** Derived keys by `version:institutionId`: HKDF runs once per institution and version. */
  private readonly derived = new Map<string, { key: Uint8Array; decrypt: Decrypt }>();

  constructor(private readonly keys: CoreKeys) {}

  /** The institution's code (base64url, 44 characters) for a linking code, under a key version. */
  encode(institutionId: string, version: number, linkingCode: Uint8Array): string {
    const { key } = this.institutionKey(institutionId, version);
    // noble refuses to encrypt twice with one cipher object (a guard against nonce reuse, which
    // GCM-SIV tolerates by design), so each encryption takes a fresh one; decryption reuses.
    const sealed = gcmsiv(key, NONCE).encrypt(linkingCode);
    const code = Buffer.allocUnsafe(CODE_BYTES);
    code[0] = version;
    code.set(sealed, 1);
    return code.toString('base64url');
  }

  /**
   * The linking code inside an institution's code, or undefined when the code is not one this core
   * issued to that institution under an accepted key version (forged, mistyped, someone else's).
   */
  decode(institutionId: string, code: string, window: VersionWindow): Uint8Array | undefined {
    const bytes = Buffer.from(code, 'base64url');
    if (bytes.length !== CODE_BYTES) return undefined;
    const version = bytes[0] ?? 0;
    if (version > window.current || version < window.current - window.previous || version < 1) {
      return undefined;
    }
    const derived = this.institutionKeyIfAny(institutionId, version);
    if (!derived) return undefined;
    try {
      const linkingCode = derived.decrypt(bytes.subarray(1));
      return linkingCode.length === LINKING_CODE_BYTES ? linkingCode : undefined;
    } catch {
      return undefined; // tag mismatch
    }
  }

  /** The lookup key of a resident record code: the core stores this, never the code itself. */
  residentKey(residentRecordCode: string): string {
    return createHmac('sha256', this.keys.residentKey).update(residentRecordCode, 'utf8').digest('base64url');
  }

  /** A provision record's person key: an HMAC of the linking code, neither a code nor the linking code. */
  personKey(linkingCode: Uint8Array): string {
    return createHmac('sha256', this.keys.recordsKey).update(linkingCode).digest('base64url');
  }

  private institutionKey(institutionId: string, version: number): { key: Uint8Array; decrypt: Decrypt } {
    const derived = this.institutionKeyIfAny(institutionId, version);
    // Rotation creates a version's master key before any institution moves to it; never make one here,
    // which would silently orphan every code issued under a lost key.
    if (!derived) throw new TypeError(`no master key of version ${version}`);
    return derived;
  }

  private institutionKeyIfAny(
    institutionId: string,
    version: number,
  ): { key: Uint8Array; decrypt: Decrypt } | undefined {
    const cacheKey = `${version}:${institutionId}`;
    const cached = this.derived.get(cacheKey);
    if (cached) return cached;
    const master = this.keys.masterKey(version);
    if (!master) return undefined;
    const key = new Uint8Array(
      hkdfSync('sha256', master, new Uint8Array(0), `renkei:institution-code:${institutionId}`, 32),
    );
    const decipher = gcmsiv(key, NONCE);
    const entry = { key, decrypt: (ciphertext: Uint8Array) => decipher.decrypt(ciphertext) };
    this.derived.set(cacheKey, entry);
    return entry;
  }
}
