/**
 * Importing the keys the envelope uses, from PEM: thin wrappers over jose's importers that pin the
 * algorithm and the curve (P-256, the network PKI's only curve) and turn a bad PEM into a stable code.
 *
 * A node has two key pairs, one per use, each with its own certificate: a signing key (ES256, for
 * messages and TLS) and an encryption key (ECDH-ES, for answers' items). We considered one key for
 * both, but using one EC key for ECDSA and for ECDH is the cross-protocol reuse NIST SP 800-57 §5.2
 * advises against, and separate certificates let each be rotated and revoked on its own. WebCrypto
 * enforces the separation too: a key imported for one use cannot be used for the other.
 */
import { KeyObject } from 'node:crypto';
import { importPKCS8, importSPKI, importX509 } from 'jose';
import { RenkeiError } from '../../shared/errors.ts';

/** A private key that signs ES256. */
export type SigningKey = CryptoKey | KeyObject;
/** A public key that verifies ES256. */
export type VerificationKey = CryptoKey | KeyObject;
/** A recipient's public key for ECDH-ES. */
export type EncryptionKey = CryptoKey | KeyObject;
/** A recipient's private key for ECDH-ES. */
export type DecryptionKey = CryptoKey | KeyObject;

/** What a key is for: `sign` (ES256 signing and verifying) or `encrypt` (ECDH-ES, both ends). */
export type KeyUse = 'sign' | 'encrypt';

const ALGORITHM: Record<KeyUse, string> = { sign: 'ES256', encrypt: 'ECDH-ES' };

/**
 * A PKCS#8 PEM private key (`-----BEGIN PRIVATE KEY-----`), for signing or for decrypting.
 *
 * @throws RenkeiError ERR_KEY_INVALID when the PEM is not a P-256 private key.
 */
export function importPrivateKeyPem(pem: string, use: KeyUse): Promise<CryptoKey> {
  return imported(() => importPKCS8(pem, ALGORITHM[use]), 'private key');
}

/**
 * An SPKI PEM public key (`-----BEGIN PUBLIC KEY-----`), for verifying or for encrypting to.
 *
 * @throws RenkeiError ERR_KEY_INVALID when the PEM is not a P-256 public key.
 */
export function importPublicKeyPem(pem: string, use: KeyUse): Promise<CryptoKey> {
  return imported(() => importSPKI(pem, ALGORITHM[use]), 'public key');
}

/**
 * The public key of an X.509 certificate PEM (`-----BEGIN CERTIFICATE-----`). This only reads the key:
 * whether the certificate is valid, unrevoked, issued by the network's CA and held by the party that
 * claims it is the PKI's business, checked before a key is trusted.
 *
 * @throws RenkeiError ERR_KEY_INVALID when the PEM is not a certificate with a P-256 key.
 */
export function importCertificateKey(pem: string, use: KeyUse): Promise<CryptoKey> {
  return imported(() => importX509(pem, ALGORITHM[use]), 'certificate');
}

async function imported(load: () => Promise<CryptoKey>, what: string): Promise<CryptoKey> {
  let key: CryptoKey;
  try {
    key = await load();
  } catch {
    // jose's message may quote the input; ours names only what was expected.
    throw new RenkeiError('ERR_KEY_INVALID', `The ${what} is not a P-256 key in PEM.`);
  }
  // ES256 import pins the curve; ECDH-ES import accepts P-384, P-521 and X25519 as well.
  if (!isP256(key)) {
    throw new RenkeiError('ERR_KEY_INVALID', `The ${what} is not a P-256 key in PEM.`);
  }
  return key;
}

/** Whether a key (either representation) is on P-256. */
export function isP256(key: CryptoKey | KeyObject): boolean {
  if (key instanceof KeyObject) return key.asymmetricKeyDetails?.namedCurve === 'prime256v1';
  return (key.algorithm as { namedCurve?: unknown }).namedCurve === 'P-256';
}
