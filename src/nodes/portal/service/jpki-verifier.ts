/**
 * The portal as a relying party of JPKI (公的個人認証サービス): the checks a login needs of a
 * user-authentication certificate (利用者証明用電子証明書) and a signature made with it. J-LIS's CA
 * bundle is the trust anchor; the certificate's status is asked of J-LIS's OCSP responder on every
 * login (not a CRL read now and then: a card reported lost must stop logging in at once).
 */
import { webcrypto } from 'node:crypto';
import { checkOcsp } from '../../../protocol/ocsp-client.ts';
import { AUTHENTICATION_CERTIFICATE_POLICY } from '../../../protocol/portal.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import { x509 } from '../../../trust/pki/x509.ts';

const RSA_SHA256 = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

export interface JpkiTrust {
  root: x509.X509Certificate;
  /** J-LIS's 利用者証明用認証局: the only issuer of user-authentication certificates. */
  authenticationCa: x509.X509Certificate;
  /** J-LIS's 署名用認証局: the issuer of signing certificates (ぴったりサービス's signed applications). */
  signingCa: x509.X509Certificate;
  /** `<J-LIS publication URL>/jpki/v1/ocsp`. */
  ocspUrl: string;
}

/**
 * J-LIS's published CA bundle (`/jpki/v1/ca-bundle.pem`: the two issuing CAs, then the root), read
 * by what each certificate is rather than by its position. Errors: ERR_CONFIG_INVALID.
 */
export async function readJpkiTrust(bundlePem: string, ocspUrl: string): Promise<JpkiTrust> {
  const invalid = (why: string) =>
    new RenkeiError('ERR_CONFIG_INVALID', `J-LIS's JPKI CA bundle is not usable: ${why}.`);
  let certificates: x509.X509Certificate[];
  try {
    certificates = x509.PemConverter.decode(bundlePem).map((der) => new x509.X509Certificate(der));
  } catch {
    throw invalid('not PEM certificates');
  }
  const root = certificates.find((c) => c.subject === c.issuer);
  if (!root || !(await root.verify({ publicKey: root.publicKey, signatureOnly: true }))) {
    throw invalid('no self-signed root');
  }
  const authenticationCa = certificates.find(
    (c) => c !== root && c.issuer === root.subject && /user authentication/.test(c.subject),
  );
  if (
    !authenticationCa ||
    !(await authenticationCa.verify({ publicKey: root.publicKey, signatureOnly: true }))
  ) {
    throw invalid('no user-authentication CA under the root');
  }
  const signingCa = certificates.find(
    (c) => c !== root && c.issuer === root.subject && /digital signature/.test(c.subject),
  );
  if (!signingCa || !(await signingCa.verify({ publicKey: root.publicKey, signatureOnly: true }))) {
    throw invalid('no signing CA under the root');
  }
  return { root, authenticationCa, signingCa, ocspUrl };
}

/**
 * Check that `der` is a user-authentication certificate of J-LIS's CA, valid at `at`, not revoked
 * (OCSP), and that it signed `message` with `signature`. Returns the certificate's serial (lower-case
 * hex without leading zero bytes). Errors: ERR_CERT_UNTRUSTED (not a certificate, another CA, not a
 * user-authentication certificate), ERR_CERT_EXPIRED / ERR_CERT_NOT_YET_VALID, ERR_SIGNATURE_INVALID,
 * ERR_CERT_REVOKED (revoked or unknown to the responder), ERR_REVOCATION_UNAVAILABLE (OCSP could not
 * answer: we fail closed).
 */
export async function verifyAuthenticationSignature(args: {
  trust: JpkiTrust;
  der: Uint8Array;
  message: Uint8Array;
  signature: Uint8Array;
  at: Date;
}): Promise<{ serial: string }> {
  const { trust, at } = args;
  const untrusted = (why: string) =>
    new RenkeiError('ERR_CERT_UNTRUSTED', `The card's certificate is not to be trusted: ${why}.`);
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(args.der);
  } catch {
    throw untrusted('not a certificate');
  }
  const chained =
    certificate.issuer === trust.authenticationCa.subject &&
    (await certificate.verify({ publicKey: trust.authenticationCa.publicKey, signatureOnly: true }));
  if (!chained) throw untrusted('not issued by J-LIS’s user-authentication CA');
  const policies = certificate.getExtension(x509.CertificatePolicyExtension)?.policies ?? [];
  if (!policies.includes(AUTHENTICATION_CERTIFICATE_POLICY)) {
    throw untrusted('not a user-authentication certificate');
  }
  for (const c of [certificate, trust.authenticationCa, trust.root]) {
    if (at < c.notBefore)
      throw new RenkeiError('ERR_CERT_NOT_YET_VALID', 'The card’s certificate is not valid yet.');
    if (at > c.notAfter) throw new RenkeiError('ERR_CERT_EXPIRED', 'The card’s certificate has expired.');
  }
  const key = await certificate.publicKey.export(RSA_SHA256, ['verify'], webcrypto);
  const signed = await webcrypto.subtle.verify(
    RSA_SHA256,
    key,
    new Uint8Array(args.signature),
    new Uint8Array(args.message),
  );
  if (!signed) {
    throw new RenkeiError(
      'ERR_SIGNATURE_INVALID',
      'The card’s signature does not verify with its certificate.',
    );
  }
  let status;
  try {
    status = await checkOcsp({
      url: trust.ocspUrl,
      certificate,
      issuer: trust.authenticationCa,
      at,
      timeoutMs: 5_000,
    });
  } catch (error) {
    throw new RenkeiError(
      'ERR_REVOCATION_UNAVAILABLE',
      'J-LIS could not confirm the certificate’s status; try again later.',
      { cause: error instanceof RenkeiError ? error.code : 'ERR_INTERNAL' },
    );
  }
  if (status.status !== 'good') {
    throw new RenkeiError('ERR_CERT_REVOKED', 'The card’s certificate is revoked or unknown to J-LIS.', {
      status: status.status,
    });
  }
  return { serial: normalisedSerial(certificate.serialNumber) };
}

function normalisedSerial(hex: string): string {
  const stripped = hex.toLowerCase().replace(/^(?:00)+(?=[0-9a-f])/, '');
  return stripped.length % 2 === 1 ? `0${stripped}` : stripped;
}
