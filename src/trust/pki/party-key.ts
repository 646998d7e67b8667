/**
 * The public key a party signs its record-log tree heads with: its identity certificate's, read from the
 * network's PKI directory, if the network's CA issued it and it names that party. Used by `renkei records
 * verify` (every party's heads) and by the oversight console's cross-check (an institution's latest head,
 * as it answered the core).
 */
import { existsSync, readFileSync } from 'node:fs';
import { importX509 } from 'jose';
import { partyPaths, pkiPaths } from './files.ts';
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
