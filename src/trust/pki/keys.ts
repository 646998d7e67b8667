/**
 * Key pairs: made by WebCrypto, stored as unencrypted PKCS#8 PEM in files of mode 0600.
 *
 * We considered encrypting the keys at rest with a passphrase, but every node must start unattended
 * (`npm start`), so the passphrase would sit beside the key. File permissions, and for the root key
 * moving it off the machine, are the protection; an HSM is the production answer.
 */
import { webcrypto } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ECDH_P256, ECDSA_P256, x509 } from './x509.ts';
import { writeSecretFile } from './files.ts';

export type KeyPurpose = 'signing' | 'encryption';

/** A fresh P-256 key pair: ECDSA for signing, ECDH for encryption. Extractable, so it can be saved once. */
export async function generateKeyPair(purpose: KeyPurpose): Promise<webcrypto.CryptoKeyPair> {
  return purpose === 'signing'
    ? webcrypto.subtle.generateKey(ECDSA_P256, true, ['sign', 'verify'])
    : webcrypto.subtle.generateKey(ECDH_P256, true, ['deriveBits', 'deriveKey']);
}

/** A private key as PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`). */
export async function privateKeyPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY');
}

/** Save a private key to `path` with mode 0600. */
export async function savePrivateKey(path: string, key: CryptoKey): Promise<void> {
  writeSecretFile(path, await privateKeyPem(key));
}

/**
 * An ECDSA P-256 signing key read from a PKCS#8 PEM file, not extractable: once loaded, it can sign
 * but never be exported again from this process.
 */
export async function loadSigningKey(path: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(readFileSync(path, 'utf8'));
  return webcrypto.subtle.importKey('pkcs8', der, ECDSA_P256, false, ['sign']);
}
