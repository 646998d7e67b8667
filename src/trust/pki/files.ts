/**
 * Where the PKI keeps its files, and the two ways it writes them: private (mode 0600, never
 * readable by another user) and atomic (a temporary file renamed over the old one, so a reader in
 * another process never sees half a file).
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { RenkeiError } from '../../shared/errors.ts';
import { writeFileAtomic } from '../../shared/files.ts';

/** Every path under a PKI directory, in one place. */
export function pkiPaths(dir: string) {
  return {
    dir,
    config: join(dir, 'pki.json'),
    index: join(dir, 'index.json'),
    caBundle: join(dir, 'ca-bundle.pem'),
    crlDer: join(dir, 'crl.der'),
    crlPem: join(dir, 'crl.pem'),
    rootDir: join(dir, 'root'),
    rootKey: join(dir, 'root', 'key.pem'),
    rootCert: join(dir, 'root', 'cert.pem'),
    issuingDir: join(dir, 'issuing'),
    issuingKey: join(dir, 'issuing', 'key.pem'),
    issuingCert: join(dir, 'issuing', 'cert.pem'),
    ocspDir: join(dir, 'ocsp'),
    ocspKey: join(dir, 'ocsp', 'key.pem'),
    ocspCert: join(dir, 'ocsp', 'cert.pem'),
    partiesDir: join(dir, 'parties'),
  };
}

export type PkiPaths = ReturnType<typeof pkiPaths>;

/** The files of one party's two key pairs. */
export function partyPaths(dir: string, partyId: string) {
  const partyDir = join(pkiPaths(dir).partiesDir, safePartyDirName(partyId));
  return {
    dir: partyDir,
    identityKey: join(partyDir, 'identity-key.pem'),
    identityCert: join(partyDir, 'identity-cert.pem'),
    encryptionKey: join(partyDir, 'encryption-key.pem'),
    encryptionCert: join(partyDir, 'encryption-cert.pem'),
    /**
     * Every certificate ever issued to the party, `<serial>.pem`: a party's files are replaced when it
     * is issued again, and a tree head signed under its earlier identity key is checked with this copy.
     */
    certificates: join(partyDir, 'certificates'),
    /**
     * The encryption keys of the party's earlier encryption certificates, `<serial>-key.pem` (0600; every
     * private key's file name ends in `key.pem`): an
     * answer sealed to the certificate an inquiry named before the party was issued new ones still
     * opens (the core keeps an undelivered answer for 7 days).
     */
    retiredEncryptionKeys: join(partyDir, 'retired-encryption-keys'),
  };
}

/** Where the encryption key of the party's earlier encryption certificate of this serial (normalised) is kept. */
export function retiredEncryptionKeyPath(dir: string, partyId: string, serial: string): string {
  if (!/^[0-9a-f]+$/.test(serial)) throw new TypeError('A serial is lower-case hex.');
  return join(partyPaths(dir, partyId).retiredEncryptionKeys, `${serial}-key.pem`);
}

/**
 * A party id as a directory name: `operator:alice` → `operator%3Aalice`. Percent-encoding rather
 * than replacing `:` with `_`, so two ids can never share a directory. (Party ids are already
 * restricted to `[a-z0-9._-]` and `:`, so `/` and `..` cannot occur; this is about `:`, which some
 * file systems refuse.)
 */
export function safePartyDirName(partyId: string): string {
  return encodeURIComponent(partyId);
}

/** Where the copy of a party's certificate of this serial (normalised) is kept. */
export function archivedCertificatePath(dir: string, partyId: string, serial: string): string {
  if (!/^[0-9a-f]+$/.test(serial)) throw new TypeError('A serial is lower-case hex.');
  return join(partyPaths(dir, partyId).certificates, `${serial}.pem`);
}

/** A directory only its owner can enter (0700), made if missing and tightened if it was looser. */
export function ensurePrivateDir(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o700 });
  chmodSync(path, 0o700);
}

/** A private key or other secret: mode 0600, written atomically. */
export function writeSecretFile(path: string, data: string): void {
  writeFileAtomic(path, data, 0o600);
}

/** A certificate, the CRL, the index: public within the PKI directory, mode 0644, written atomically. */
export function writePublicFile(path: string, data: string | Uint8Array): void {
  writeFileAtomic(path, data, 0o644);
}

/**
 * ERR_NO_PKI unless `dir` holds an initialised PKI: the message tells a person what to run.
 */
export function assertPkiExists(dir: string): void {
  if (!existsSync(pkiPaths(dir).config)) {
    throw new RenkeiError(
      'ERR_NO_PKI',
      'There is no PKI in this data directory yet; run `renkei pki init` first.',
      { dir },
    );
  }
}
