/**
 * The public key a party signs its record-log tree heads with: its identity certificate's, read from the
 * network's PKI directory, if the network's CA issued it and it names that party. Used by `renkei records
 * verify` (every party's heads) and by the oversight console's cross-check (an institution's latest head,
 * as it answered the core).
 */
import { existsSync, readFileSync } from 'node:fs';
import { importX509 } from 'jose';
import { archivedCertificatePath, partyPaths, pkiPaths } from './files.ts';
import { readIndex } from './ca-index.ts';
import { normaliseSerial } from './profiles.ts';
import { partyIdOf } from './verify.ts';
import { loadTrustBundle } from './trust-bundle.ts';
import { x509 } from './x509.ts';

/**
 * `key` when the certificate is usable; `note` says where it came from or why there is none;
 * `untrusted` (and no key) when a certificate is there but is not one the network's CA issued to
 * `party`: a finding for the caller, never a key to check with.
 */
export async function partyIdentityKey(
  pkiDir: string,
  party: string,
): Promise<{ key?: CryptoKey; serial?: string; note: string; untrusted?: string }> {
  const certFile = partyPaths(pkiDir, party).identityCert;
  if (!existsSync(certFile)) return { note: 'no identity certificate in the network PKI' };
  const pem = readFileSync(certFile, 'utf8');
  const bundleFile = pkiPaths(pkiDir).caBundle;
  try {
    const cert = new x509.X509Certificate(pem);
    if (existsSync(bundleFile)) {
      const bundle = await loadTrustBundle(bundleFile);
      const issuedByUs = await cert
        .verify({ publicKey: bundle.issuing.publicKey, signatureOnly: true })
        .catch(() => false);
      if (!issuedByUs) throw new Error('not issued by the network CA');
    }
    if (partyIdOf(cert) !== party) throw new Error('it names another party');
    return {
      key: await importX509(pem, 'ES256'),
      serial: normaliseSerial(cert.serialNumber),
      note: `identity certificate ${certFile}`,
    };
  } catch {
    return {
      note: 'identity certificate not usable',
      untrusted: `The identity certificate ${certFile} is not one the network's CA issued to ${party}: heads were not checked with it.`,
    };
  }
}

/**
 * What a tree head signed under key id `serial` at `at` (the head's own timestamp) can be checked with:
 *
 * - `usable`: the key of the party's identity certificate of that serial (its current one, or a copy
 *   the PKI kept of an earlier one), issued by the network's CA to that party, valid at `at` and not
 *   revoked at or before `at`; `current` says whether it is the party's current certificate.
 * - `unavailable`: the index knows the certificate but the PKI kept no copy of it (issued before
 *   copies were kept): the head cannot be checked, and is shown so.
 * - `refused`: a finding, with `kind` and an English `message` — `head-key-unknown` (the CA never
 *   issued the party an identity certificate of that serial), `head-outside-validity` (signed
 *   before the certificate's notBefore or after its notAfter), `head-after-revocation`, and
 *   `head-key-compromised` (revoked for keyCompromise: a head's time is the signer's own claim, so
 *   nothing signed with that key is trusted, whatever time it says), `certificate-untrusted` (a copy
 *   not issued by the network's CA to that party).
 *
 * Without the CA's index (a PKI directory with only the party's files), the current certificate is
 * the only one known, as `partyIdentityKey` has it.
 */
export type HeadKey =
  | { status: 'usable'; key: CryptoKey; current: boolean }
  | { status: 'unavailable'; note: string }
  | { status: 'refused'; kind: HeadKeyRefusal; message: string };

export type HeadKeyRefusal =
  | 'head-key-unknown'
  | 'head-outside-validity'
  | 'head-after-revocation'
  | 'head-key-compromised'
  | 'certificate-untrusted';

export async function partyHeadKey(pkiDir: string, party: string, kid: string, at: Date): Promise<HeadKey> {
  const current = await partyIdentityKey(pkiDir, party);
  if (current.untrusted !== undefined) {
    return { status: 'refused', kind: 'certificate-untrusted', message: current.untrusted };
  }
  const indexFile = pkiPaths(pkiDir).index;
  const serial = /^[0-9a-f]+$/.test(kid) ? kid : undefined;
  if (!existsSync(indexFile)) {
    return current.key !== undefined && current.serial === serial
      ? { status: 'usable', key: current.key, current: true }
      : { status: 'unavailable', note: current.note };
  }
  const record = readIndex(indexFile).certificates.find(
    (c) => c.serial === serial && c.partyId === party && c.kind === 'identity',
  );
  if (record === undefined || serial === undefined) {
    return {
      status: 'refused',
      kind: 'head-key-unknown',
      message: `${party}'s tree head names key ${kid.slice(0, 64)}, which is none of the identity certificates the network's CA issued to ${party}.`,
    };
  }
  if (record.status === 'revoked' && record.reason === 'keyCompromise') {
    return {
      status: 'refused',
      kind: 'head-key-compromised',
      message: `${party}'s tree head is signed with the key of certificate ${serial}, revoked as compromised: nothing it signed is trusted.`,
    };
  }
  const t = at.getTime();
  if (t < Date.parse(record.notBefore) || t > Date.parse(record.notAfter)) {
    return {
      status: 'refused',
      kind: 'head-outside-validity',
      message: `${party}'s tree head of ${at.toISOString()} is signed under certificate ${serial}, valid only from ${record.notBefore} to ${record.notAfter}.`,
    };
  }
  if (record.status === 'revoked' && record.revokedAt !== null && t >= Date.parse(record.revokedAt)) {
    return {
      status: 'refused',
      kind: 'head-after-revocation',
      message: `${party}'s tree head of ${at.toISOString()} is signed under certificate ${serial}, revoked on ${record.revokedAt}.`,
    };
  }
  if (current.key !== undefined && current.serial === serial) {
    return { status: 'usable', key: current.key, current: true };
  }
  const copy = archivedCertificatePath(pkiDir, party, serial);
  if (!existsSync(copy)) {
    return {
      status: 'unavailable',
      note: `certificate ${serial} was issued before the PKI kept copies of certificates`,
    };
  }
  const pem = readFileSync(copy, 'utf8');
  try {
    const cert = new x509.X509Certificate(pem);
    const bundle = await loadTrustBundle(pkiPaths(pkiDir).caBundle);
    const issuedByUs = await cert
      .verify({ publicKey: bundle.issuing.publicKey, signatureOnly: true })
      .catch(() => false);
    if (!issuedByUs || partyIdOf(cert) !== party || normaliseSerial(cert.serialNumber) !== serial) {
      throw new Error('not the CA’s certificate of that serial for that party');
    }
    return { status: 'usable', key: await importX509(pem, 'ES256'), current: false };
  } catch {
    return {
      status: 'refused',
      kind: 'certificate-untrusted',
      message: `The kept copy of ${party}'s certificate ${serial} is not one the network's CA issued to ${party}: the head was not checked with it.`,
    };
  }
}
