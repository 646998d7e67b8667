/**
 * For tests: what a card does, done in the test (the card itself is another part): two RSA 2048 key
 * pairs made "inside the card", their public keys as SPKI DER, and a sign callback that keeps the key.
 */
import { webcrypto } from 'node:crypto';
import { generateRsaKeyPair } from './authority.ts';
import { JPKI_SIGNING_ALGORITHM } from './profiles.ts';

export interface TestCard {
  signing: webcrypto.CryptoKeyPair;
  authentication: webcrypto.CryptoKeyPair;
  signingPublicKeySpki: Uint8Array;
  authenticationPublicKeySpki: Uint8Array;
}

export async function makeTestCard(): Promise<TestCard> {
  const signing = await generateRsaKeyPair();
  const authentication = await generateRsaKeyPair();
  return {
    signing,
    authentication,
    signingPublicKeySpki: new Uint8Array(await webcrypto.subtle.exportKey('spki', signing.publicKey)),
    authenticationPublicKeySpki: new Uint8Array(
      await webcrypto.subtle.exportKey('spki', authentication.publicKey),
    ),
  };
}

/** The card's sign operation: RSASSA-PKCS1-v1_5 with SHA-256 over `tbs`, the key never leaving. */
export function signer(key: CryptoKey): (tbs: Uint8Array) => Promise<Uint8Array> {
  return async (tbs) =>
    new Uint8Array(await webcrypto.subtle.sign(JPKI_SIGNING_ALGORITHM, key, new Uint8Array(tbs)));
}

/** A notAfter within the five years the CA allows: `years` years after `now`, less a day. */
export function yearsAfter(now: Date, years: number): Date {
  const date = new Date(now);
  date.setUTCFullYear(date.getUTCFullYear() + years);
  return new Date(date.getTime() - 86_400_000);
}
