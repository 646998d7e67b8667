/**
 * J-LIS's JPKI certification authority on disk, `<J-LIS data dir>/jpki/`: a root, an issuing CA per
 * kind (signing, user authentication) and a delegated OCSP responder per issuing CA, all RSA 2048
 * with SHA-256. Created at J-LIS's first start; opened at every later one.
 *
 *   jpki.json                    { version, createdAt }: written last, marks a complete authority
 *   root/{key,cert}.pem          the root: signs the two issuing CAs only (move its key off-line)
 *   signing/{key,cert}.pem       署名用認証局: signs signing certificates and their CRL
 *   authentication/{key,cert}.pem 利用者証明用認証局
 *   signing-ocsp/{key,cert}.pem  the delegated responders, one per issuing CA (RFC 6960 §4.2.2.2)
 *   authentication-ocsp/{key,cert}.pem
 *   ca-bundle.pem                the two issuing CAs and the root: what a relying party trusts
 *
 * Keys are unencrypted PKCS#8 PEM, mode 0600, in directories of mode 0700 (J-LIS starts unattended;
 * an HSM is the production answer, as for the network's PKI). Unlike the network's CA, J-LIS holds
 * its issuing keys in the running node: it issues certificates as cards are issued, all day.
 */
import { webcrypto } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../../shared/clock.ts';
import type { Logger } from '../../../shared/logger.ts';
import { ensurePrivateDir, writePublicFile, writeSecretFile } from '../../../trust/pki/files.ts';
import { privateKeyPem } from '../../../trust/pki/keys.ts';
import { randomSerial } from '../../../trust/pki/profiles.ts';
import type { OcspResponder } from '../../../trust/pki/view.ts';
import { x509 } from '../../../trust/pki/x509.ts';
import { randomBytes } from 'node:crypto';
import {
  JPKI_CA_NAME,
  JPKI_KEY_ALGORITHM,
  JPKI_KINDS,
  JPKI_LIFETIME,
  JPKI_ROOT_NAME,
  JPKI_SIGNING_ALGORITHM,
  caExtensions,
  responderExtensions,
  responderName,
  rootExtensions,
  type JpkiKind,
} from './profiles.ts';

const DAY_MS = 86_400_000;
/** Certificates start an hour early, for clock skew (as the network's PKI). */
const BACKDATE_MS = 3_600_000;

export interface JpkiIssuingCa {
  readonly kind: JpkiKind;
  readonly certificate: x509.X509Certificate;
  readonly key: CryptoKey;
  /** The delegated OCSP responder of this CA. */
  readonly responder: OcspResponder;
}

export interface JpkiAuthority {
  readonly dir: string;
  readonly root: x509.X509Certificate;
  readonly ca: Readonly<Record<JpkiKind, JpkiIssuingCa>>;
  /** The two issuing CAs, then the root, PEM: what relying parties trust (`GET /jpki/v1/ca-bundle.pem`). */
  readonly bundlePem: string;
}

export function jpkiPaths(dir: string) {
  const pair = (name: string) => ({
    dir: join(dir, name),
    key: join(dir, name, 'key.pem'),
    cert: join(dir, name, 'cert.pem'),
  });
  return {
    dir,
    marker: join(dir, 'jpki.json'),
    bundle: join(dir, 'ca-bundle.pem'),
    root: pair('root'),
    ca: { signing: pair('signing'), authentication: pair('authentication') },
    responder: { signing: pair('signing-ocsp'), authentication: pair('authentication-ocsp') },
  };
}

/**
 * Open the authority in `dir`, creating it when it is not there yet (or was left half-made: nothing
 * is issued before `jpki.json` is written). Renews an OCSP responder certificate that expires within
 * JPKI_LIFETIME.responderRenewDays.
 */
export async function openJpkiAuthority(options: {
  dir: string;
  clock: Clock;
  logger?: Logger;
}): Promise<JpkiAuthority> {
  const paths = jpkiPaths(options.dir);
  if (!existsSync(paths.marker)) {
    await createAuthority(paths, options.clock.now());
    options.logger?.info('JPKI certification authority created');
  }
  const root = new x509.X509Certificate(readFileSync(paths.root.cert, 'utf8'));
  const ca = {} as Record<JpkiKind, JpkiIssuingCa>;
  for (const kind of JPKI_KINDS) {
    const certificate = new x509.X509Certificate(readFileSync(paths.ca[kind].cert, 'utf8'));
    const key = await loadRsaKey(paths.ca[kind].key);
    let responderCert = new x509.X509Certificate(readFileSync(paths.responder[kind].cert, 'utf8'));
    if (
      responderCert.notAfter.getTime() - options.clock.now().getTime() <
      JPKI_LIFETIME.responderRenewDays * DAY_MS
    ) {
      await issueResponder(paths, kind, certificate, key, options.clock.now());
      responderCert = new x509.X509Certificate(readFileSync(paths.responder[kind].cert, 'utf8'));
      options.logger?.info({ kind }, 'JPKI OCSP responder renewed');
    }
    ca[kind] = {
      kind,
      certificate,
      key,
      responder: { certificate: responderCert, privateKey: await loadRsaKey(paths.responder[kind].key) },
    };
  }
  return { dir: options.dir, root, ca, bundlePem: readFileSync(paths.bundle, 'utf8') };
}

async function createAuthority(paths: ReturnType<typeof jpkiPaths>, now: Date): Promise<void> {
  ensurePrivateDir(paths.dir);
  const rootKeys = await generateRsaKeyPair();
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: JPKI_ROOT_NAME,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + JPKI_LIFETIME.rootDays * DAY_MS),
    signingAlgorithm: JPKI_SIGNING_ALGORITHM,
    keys: rootKeys,
    extensions: await rootExtensions(rootKeys.publicKey),
  });
  await saveKeyAndCert(paths.root, rootKeys.privateKey, root);
  const pems: string[] = [];
  for (const kind of JPKI_KINDS) {
    const keys = await generateRsaKeyPair();
    const certificate = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: JPKI_CA_NAME[kind],
      issuer: root.subjectName,
      notBefore: new Date(now.getTime() - BACKDATE_MS),
      notAfter: new Date(now.getTime() + JPKI_LIFETIME.caDays * DAY_MS),
      signingAlgorithm: JPKI_SIGNING_ALGORITHM,
      publicKey: keys.publicKey,
      signingKey: rootKeys.privateKey,
      extensions: await caExtensions(keys.publicKey, rootKeys.publicKey),
    });
    await saveKeyAndCert(paths.ca[kind], keys.privateKey, certificate);
    await issueResponder(paths, kind, certificate, keys.privateKey, now);
    pems.push(certificate.toString('pem'));
  }
  writePublicFile(paths.bundle, `${[...pems, root.toString('pem')].join('\n')}\n`);
  writePublicFile(paths.marker, `${JSON.stringify({ version: 1, createdAt: now.toISOString() })}\n`);
}

async function issueResponder(
  paths: ReturnType<typeof jpkiPaths>,
  kind: JpkiKind,
  ca: x509.X509Certificate,
  caKey: CryptoKey,
  now: Date,
): Promise<void> {
  const keys = await generateRsaKeyPair();
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: responderName(kind),
    issuer: ca.subjectName,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + JPKI_LIFETIME.responderDays * DAY_MS),
    signingAlgorithm: JPKI_SIGNING_ALGORITHM,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: await responderExtensions(keys.publicKey, await ca.publicKey.export()),
  });
  await saveKeyAndCert(paths.responder[kind], keys.privateKey, certificate);
}

async function saveKeyAndCert(
  pair: { dir: string; key: string; cert: string },
  key: CryptoKey,
  certificate: x509.X509Certificate,
): Promise<void> {
  ensurePrivateDir(pair.dir);
  writeSecretFile(pair.key, await privateKeyPem(key));
  writePublicFile(pair.cert, `${certificate.toString('pem')}\n`);
}

function serial(): string {
  return randomSerial((n) => new Uint8Array(randomBytes(n)));
}

/** A fresh RSA 2048 key pair for RSASSA-PKCS1-v1_5 with SHA-256 (extractable, to be saved once). */
export async function generateRsaKeyPair(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(JPKI_KEY_ALGORITHM, true, ['sign', 'verify']);
}

/** An RSA signing key from PKCS#8 PEM, not extractable once loaded. */
async function loadRsaKey(path: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(readFileSync(path, 'utf8'));
  return webcrypto.subtle.importKey('pkcs8', der, JPKI_SIGNING_ALGORITHM, false, ['sign']);
}
