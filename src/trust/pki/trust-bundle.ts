/**
 * What a verifier trusts: the network's root CA and the one issuing CA under it, read from
 * `ca-bundle.pem`. Nothing else: a party certificate is accepted only if our issuing CA signed it.
 */
import { readFileSync } from 'node:fs';
import { RenkeiError } from '../../shared/errors.ts';
import { x509 } from './x509.ts';

export interface TrustBundle {
  root: x509.X509Certificate;
  issuing: x509.X509Certificate;
  /** The bundle as PEM (issuing CA, then root): what node:tls takes as `ca`. */
  pem: string;
}

/**
 * The bundle in `pem`: exactly one self-signed root CA and one CA it signed.
 *
 * Errors: ERR_CONFIG_INVALID if the text does not hold exactly those two, correctly signed. The
 * bundle is configuration, not peer input: a broken one is the operator's to fix.
 */
export async function parseTrustBundle(pem: string): Promise<TrustBundle> {
  let certs: x509.X509Certificate[];
  try {
    certs = x509.PemConverter.decode(pem).map((der) => new x509.X509Certificate(der));
  } catch {
    throw invalid('it does not hold PEM certificates');
  }
  if (certs.length !== 2) throw invalid('it must hold exactly two certificates, the issuing CA and the root');
  const selfSigned = await Promise.all(certs.map((c) => c.isSelfSigned()));
  const root = certs.find((_, i) => selfSigned[i]);
  const issuing = certs.find((_, i) => !selfSigned[i]);
  if (!root || !issuing) throw invalid('it must hold one self-signed root and one issuing CA');
  const signedByRoot = await issuing.verify({ publicKey: root.publicKey, signatureOnly: true });
  if (!signedByRoot) throw invalid('the issuing CA is not signed by the root');
  return { root, issuing, pem: `${issuing.toString('pem')}\n${root.toString('pem')}\n` };
}

/** The bundle in the file at `path` (a PKI's `ca-bundle.pem`). Errors: ERR_CONFIG_INVALID. */
export async function loadTrustBundle(path: string): Promise<TrustBundle> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new RenkeiError('ERR_CONFIG_INVALID', 'The CA bundle cannot be read.', { path });
  }
  return parseTrustBundle(text);
}

function invalid(why: string): RenkeiError {
  return new RenkeiError('ERR_CONFIG_INVALID', `The CA bundle is not valid: ${why}.`);
}
