/**
 * The network's certification authority, on disk: `renkei pki init`, `issue`, `revoke` and `list`.
 *
 * Two CAs. The root CA signs only the issuing CA; its key is used at `init` and by no node, so it
 * is an "offline root" in the sense that matters: nothing that serves requests ever loads it, and an
 * operator can move `root/key.pem` off the machine after `init` without the network noticing. The
 * issuing CA signs party certificates, the OCSP responder's certificate and the CRL; its key is
 * loaded only by these functions (run by `renkei pki …`), never by a node. The core answers OCSP
 * with the responder's own key, so it holds neither CA key.
 *
 * Every operation that writes takes the directory's `pki.lock`, so two `renkei pki` processes
 * cannot lose each other's index updates. The lock does not queue: a second operation while one is
 * running (in this process too) fails with ERR_DATA_DIR_IN_USE, so a launcher issues one party
 * after another, not with Promise.all.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import type { Clock } from '../../shared/clock.ts';
import { RenkeiError } from '../../shared/errors.ts';
import { lockDirectory } from '../../shared/lock.ts';
import {
  assertRevocationReason,
  readIndex,
  writeIndex,
  type CertificateIndex,
  type CertificateRecord,
} from './ca-index.ts';
import { buildCrl, writeCrl, type SignedCrl } from './crl.ts';
import {
  archivedCertificatePath,
  assertPkiExists,
  ensurePrivateDir,
  partyPaths,
  pkiPaths,
  retiredEncryptionKeyPath,
  writePublicFile,
  writeSecretFile,
  type PkiPaths,
} from './files.ts';
import { generateKeyPair, loadSigningKey, savePrivateKey } from './keys.ts';
import {
  ISSUING_NAME,
  LIFETIME,
  OCSP_RESPONDER_NAME,
  ROOT_NAME,
  assertPartyId,
  assertPartyRole,
  encryptionExtensions,
  identityExtensions,
  issuingExtensions,
  normaliseSerial,
  ocspResponderExtensions,
  partyName,
  publicationUrls,
  randomSerial,
  rootExtensions,
  validity,
  type PartyRole,
} from './profiles.ts';
import { SIGNING_ALGORITHM, x509 } from './x509.ts';

/** A source of random bytes, for serial numbers (a collaborator, so a test can make serials predictable). */
export type RandomBytes = (size: number) => Uint8Array;
const defaultRandom: RandomBytes = (size) => new Uint8Array(randomBytes(size));

/** `pki.json`: how the PKI was set up. Its presence marks an initialised PKI. */
export const PkiConfig = z.object({
  version: z.literal(1),
  createdAt: z.iso.datetime(),
  /** The base URL under which the core publishes `/pki/v1/crl` and `/pki/v1/ocsp`, if any. */
  publicationUrl: z.url().nullable(),
});
export type PkiConfig = z.infer<typeof PkiConfig>;

/** A certificate just issued, as the caller gets it back (never with its key). */
export interface IssuedCertificate {
  serial: string;
  certificate: x509.X509Certificate;
  notBefore: Date;
  notAfter: Date;
}

export interface InitPkiOptions {
  /** The PKI directory: `<data dir>/pki`. Made (mode 0700) if missing. */
  dir: string;
  clock: Clock;
  random?: RandomBytes;
  /** e.g. `https://core.renkei.example`: issued certificates then name `<url>/pki/v1/crl` and `/pki/v1/ocsp`. */
  publicationUrl?: string;
}

export interface InitializedPki {
  dir: string;
  root: x509.X509Certificate;
  issuing: x509.X509Certificate;
  ocspResponder: x509.X509Certificate;
}

/**
 * Create the network's PKI in `dir`: root CA, issuing CA, OCSP responder, an empty index, the
 * first CRL (number 1) and `ca-bundle.pem` (issuing CA then root, what verifiers load).
 *
 * Errors (every writing operation here may also fail with ERR_DATA_DIR_IN_USE, see above):
 * ERR_PKI_EXISTS if `dir` already holds a PKI, or the remains of one (its config, root key
 * or index): its keys are never overwritten. ERR_VALIDATION if `publicationUrl` is not an http(s) URL.
 */
export async function initPki(options: InitPkiOptions): Promise<InitializedPki> {
  const paths = pkiPaths(options.dir);
  const random = options.random ?? defaultRandom;
  if (options.publicationUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(options.publicationUrl)) {
    throw new RenkeiError('ERR_VALIDATION', 'The publication URL must be an http or https URL.', {
      field: 'publicationUrl',
    });
  }
  refuseExisting(paths);
  ensurePrivateDir(paths.dir);
  const lock = lockDirectory(paths.dir, 'pki');
  try {
    refuseExisting(paths); // again, under the lock: another `init` may have won the race
    const now = options.clock.now();
    for (const dir of [paths.rootDir, paths.issuingDir, paths.ocspDir, paths.partiesDir])
      ensurePrivateDir(dir);

    const rootKeys = await generateKeyPair('signing');
    const root = await x509.X509CertificateGenerator.createSelfSigned({
      name: ROOT_NAME,
      keys: rootKeys,
      serialNumber: randomSerial(random),
      ...validity(now, LIFETIME.rootDays),
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: await rootExtensions(rootKeys.publicKey),
    });

    const issuingKeys = await generateKeyPair('signing');
    const issuing = await x509.X509CertificateGenerator.create({
      subject: ISSUING_NAME,
      issuer: root.subjectName,
      publicKey: issuingKeys.publicKey,
      signingKey: rootKeys.privateKey,
      serialNumber: randomSerial(random),
      ...validity(now, LIFETIME.issuingDays),
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: await issuingExtensions(issuingKeys.publicKey, rootKeys.publicKey),
    });

    const responder = await makeOcspResponder(issuing, issuingKeys.privateKey, now, random);
    const ocspResponder = responder.certificate;

    await savePrivateKey(paths.rootKey, rootKeys.privateKey);
    writePublicFile(paths.rootCert, pem(root));
    await savePrivateKey(paths.issuingKey, issuingKeys.privateKey);
    writePublicFile(paths.issuingCert, pem(issuing));
    await saveOcspResponder(paths, responder);
    writePublicFile(paths.caBundle, pem(issuing) + pem(root));

    const index: CertificateIndex = {
      version: 1,
      crlNumber: 1,
      certificates: [record(ocspResponder, 'core', 'ocsp-responder', 'ocsp-responder', now)],
    };
    writeCrl(
      paths,
      await buildCrl({ issuing, issuingKey: issuingKeys.privateKey, index, crlNumber: 1, now }),
    );
    writeIndex(paths.index, index);
    // Last: the config's presence is what marks the PKI as complete.
    const config: PkiConfig = {
      version: 1,
      createdAt: now.toISOString(),
      publicationUrl: options.publicationUrl ?? null,
    };
    writePublicFile(paths.config, `${JSON.stringify(config, null, 2)}\n`);
    return { dir: paths.dir, root, issuing, ocspResponder };
  } finally {
    lock.release();
  }
}

function refuseExisting(paths: PkiPaths): void {
  if ([paths.config, paths.rootKey, paths.index, paths.issuingKey].some((p) => existsSync(p))) {
    throw new RenkeiError(
      'ERR_PKI_EXISTS',
      'A PKI already exists in this directory; its keys are never overwritten. To start over, move the directory away first.',
      { dir: paths.dir },
    );
  }
}

/** The config of the PKI in `dir`. Errors: ERR_NO_PKI, ERR_CONFIG_INVALID. */
export function readPkiConfig(dir: string): PkiConfig {
  assertPkiExists(dir);
  const path = pkiPaths(dir).config;
  const parsed = PkiConfig.safeParse(safeJson(readFileSync(path, 'utf8')));
  if (!parsed.success)
    throw new RenkeiError('ERR_CONFIG_INVALID', 'pki.json is not in the expected format.', { path });
  return parsed.data;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export interface IssuePartyOptions {
  dir: string;
  partyId: string;
  /** One of PARTY_ROLES; checked, as it may come from a command line. */
  role: string;
  /** DNS names and IP addresses the party serves TLS on (`localhost`, `127.0.0.1`). */
  hosts?: readonly string[];
  clock: Clock;
  /** Default LIFETIME.partyDays (365). Never beyond the issuing CA's own notAfter. */
  validityDays?: number;
  random?: RandomBytes;
}

export interface IssuedParty {
  partyId: string;
  role: PartyRole;
  identity: IssuedCertificate;
  encryption: IssuedCertificate;
  files: ReturnType<typeof partyPaths>;
  /**
   * When the party had certificates already: the serials of those its new files replaced, and where
   * the earlier encryption key is kept (`retired-encryption-keys/<serial>-key.pem`).
   */
  replaced?: { encryptionSerial: string; retiredKey: string; identitySerial: string | undefined };
}

/**
 * Issue a party's two certificates and key pairs: identity (TLS client and server, message signing)
 * and encryption (ECDH for JWE). Writes `parties/<party>/{identity,encryption}-{key,cert}.pem`
 * (keys mode 0600) and adds both to the index.
 *
 * Issuing again for the same party replaces its files, and its earlier certificates stay in the
 * index and stay valid until they expire or are revoked: a node can then switch to the new key
 * without a moment in which neither is accepted. Revoke the old ones (reason `superseded`) once the
 * party runs on the new ones.
 *
 * Errors: ERR_NO_PKI; ERR_VALIDATION (party id, role, host, validity days, or a lifetime beyond the
 * issuing CA's); ERR_CERT_EXPIRED if the issuing CA itself has expired.
 */
export async function issuePartyCertificates(options: IssuePartyOptions): Promise<IssuedParty> {
  const { partyId, role } = options;
  assertPartyId(partyId);
  assertPartyRole(role);
  const days = options.validityDays ?? LIFETIME.partyDays;
  if (!Number.isInteger(days) || days < 1 || days > LIFETIME.issuingDays) {
    throw new RenkeiError(
      'ERR_VALIDATION',
      `Validity is a whole number of days from 1 to ${LIFETIME.issuingDays}.`,
      {
        field: 'validityDays',
      },
    );
  }
  const hosts = options.hosts ?? [];
  const random = options.random ?? defaultRandom;
  const paths = pkiPaths(options.dir);
  assertPkiExists(options.dir);
  const urls = publicationUrls(readPkiConfig(options.dir).publicationUrl ?? undefined);

  const lock = lockDirectory(paths.dir, 'pki');
  try {
    const now = options.clock.now();
    const { issuing, issuingKey } = await openIssuingCa(paths, now);
    const period = validity(now, days);
    if (period.notAfter > issuing.notAfter) {
      throw new RenkeiError(
        'ERR_VALIDATION',
        'The certificate would outlive the issuing CA; ask for fewer days.',
        {
          field: 'validityDays',
        },
      );
    }
    const identityKeys = await generateKeyPair('signing');
    const identity = await x509.X509CertificateGenerator.create({
      subject: partyName(partyId, role),
      issuer: issuing.subjectName,
      publicKey: identityKeys.publicKey,
      signingKey: issuingKey,
      serialNumber: randomSerial(random),
      ...period,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: await identityExtensions({
        partyId,
        hosts,
        subjectPublicKey: identityKeys.publicKey,
        issuingPublicKey: await issuing.publicKey.export(),
        urls,
      }),
    });
    const encryptionKeys = await generateKeyPair('encryption');
    const encryption = await x509.X509CertificateGenerator.create({
      subject: partyName(partyId, role),
      issuer: issuing.subjectName,
      publicKey: encryptionKeys.publicKey,
      signingKey: issuingKey,
      serialNumber: randomSerial(random),
      ...period,
      signingAlgorithm: SIGNING_ALGORITHM,
      extensions: await encryptionExtensions({
        partyId,
        subjectPublicKey: encryptionKeys.publicKey,
        issuingPublicKey: await issuing.publicKey.export(),
        urls,
      }),
    });

    const files = partyPaths(options.dir, partyId);
    ensurePrivateDir(files.dir);
    const replaced = retireEncryptionKey(options.dir, partyId);
    await savePrivateKey(files.identityKey, identityKeys.privateKey);
    writePublicFile(files.identityCert, pem(identity));
    await savePrivateKey(files.encryptionKey, encryptionKeys.privateKey);
    writePublicFile(files.encryptionCert, pem(encryption));
    // The copies kept for good: the files above are replaced at the next issue, and what the party
    // signed meanwhile (its record log's tree heads) is checked with the certificate of that time.
    ensurePrivateDir(files.certificates);
    for (const cert of [identity, encryption]) {
      writePublicFile(
        archivedCertificatePath(options.dir, partyId, normaliseSerial(cert.serialNumber)),
        pem(cert),
      );
    }

    const index = readIndex(paths.index);
    index.certificates.push(
      record(identity, role, partyId, 'identity', now),
      record(encryption, role, partyId, 'encryption', now),
    );
    writeIndex(paths.index, index);
    return {
      partyId,
      role,
      identity: issued(identity),
      encryption: issued(encryption),
      files,
      ...(replaced === undefined ? {} : { replaced }),
    };
  } finally {
    lock.release();
  }
}

/**
 * Renew a party's certificates: issue them again with the role and hosts of its current identity
 * certificate (`issuePartyCertificates`, which keeps the earlier encryption key), so a renewal cannot
 * drop a host its peers connect to. Errors: ERR_UNKNOWN_CERTIFICATE when the party has no current
 * certificate in this PKI (issue one), and those of `issuePartyCertificates`.
 */
export async function renewPartyCertificates(options: {
  dir: string;
  partyId: string;
  clock: Clock;
  validityDays?: number;
}): Promise<IssuedParty> {
  assertPartyId(options.partyId);
  assertPkiExists(options.dir);
  const file = partyPaths(options.dir, options.partyId).identityCert;
  if (!existsSync(file)) {
    throw new RenkeiError(
      'ERR_UNKNOWN_CERTIFICATE',
      `${options.partyId} has no certificate in this PKI to renew; issue one with renkei pki issue --party ${options.partyId} --role <role> --host <host>.`,
      { partyId: options.partyId },
    );
  }
  const current = new x509.X509Certificate(readFileSync(file, 'utf8'));
  const role = current.subjectName.getField('OU')[0] ?? '';
  const hosts = (current.getExtension(x509.SubjectAlternativeNameExtension)?.names.items ?? [])
    .filter((name) => name.type === 'dns' || name.type === 'ip')
    .map((name) => name.value);
  return issuePartyCertificates({
    dir: options.dir,
    partyId: options.partyId,
    role,
    hosts,
    clock: options.clock,
    ...(options.validityDays === undefined ? {} : { validityDays: options.validityDays }),
  });
}

/**
 * Keep the party's current encryption key, if it has one, under its certificate's serial before new
 * files replace it: answers sealed to that certificate may still be on their way (an inquiry names the
 * certificate it was sent with; the core keeps an undelivered answer for 7 days). A node loads every
 * retired key with its current one (`loadNodeTrust`). Its identity key is not kept: what it signed is
 * checked with the certificate's copy, and nothing is ever encrypted to it.
 */
function retireEncryptionKey(dir: string, partyId: string): IssuedParty['replaced'] {
  const files = partyPaths(dir, partyId);
  if (!existsSync(files.encryptionKey) || !existsSync(files.encryptionCert)) return undefined;
  const serialOf = (file: string) =>
    normaliseSerial(new x509.X509Certificate(readFileSync(file, 'utf8')).serialNumber);
  const serial = serialOf(files.encryptionCert);
  const retiredKey = retiredEncryptionKeyPath(dir, partyId, serial);
  ensurePrivateDir(files.retiredEncryptionKeys);
  writeSecretFile(retiredKey, readFileSync(files.encryptionKey, 'utf8'));
  return {
    encryptionSerial: serial,
    retiredKey,
    identitySerial: existsSync(files.identityCert) ? serialOf(files.identityCert) : undefined,
  };
}

export type RevokeTarget = { serial: string; partyId?: undefined } | { partyId: string; serial?: undefined };

export type RevokeOptions = RevokeTarget & {
  dir: string;
  /** One of REVOCATION_REASONS; checked. */
  reason: string;
  clock: Clock;
};

export interface RevokeResult {
  /** The certificates this call revoked. */
  revoked: CertificateRecord[];
  /** Those it was asked about that were revoked already (left as they were: a revocation is final). */
  alreadyRevoked: CertificateRecord[];
  /** The number of the CRL now published (unchanged if nothing was revoked). */
  crlNumber: number;
}

/**
 * Revoke one certificate by serial, or every certificate of a party (identity and encryption,
 * current and earlier), with an RFC 5280 reason; then sign and publish a new CRL with the next
 * cRLNumber. The OCSP responder sees the change at its next request (it re-reads the index).
 *
 * Errors: ERR_NO_PKI; ERR_VALIDATION (reason, serial, party id); ERR_UNKNOWN_CERTIFICATE if the
 * index has no such serial or party.
 */
export async function revokeCertificate(options: RevokeOptions): Promise<RevokeResult> {
  const { reason } = options;
  if ((options.serial === undefined) === (options.partyId === undefined)) {
    throw new TypeError('revokeCertificate needs exactly one of serial and partyId');
  }
  assertRevocationReason(reason);
  const serial = options.serial === undefined ? undefined : normaliseSerial(options.serial);
  if (options.partyId !== undefined) assertPartyId(options.partyId);
  const paths = pkiPaths(options.dir);
  assertPkiExists(options.dir);

  const lock = lockDirectory(paths.dir, 'pki');
  try {
    const now = options.clock.now();
    const index = readIndex(paths.index);
    const targets = index.certificates.filter((c) =>
      serial !== undefined ? c.serial === serial : c.partyId === options.partyId,
    );
    if (targets.length === 0) {
      throw new RenkeiError(
        'ERR_UNKNOWN_CERTIFICATE',
        serial !== undefined
          ? 'No certificate with this serial number was issued by this PKI; `renkei pki list` shows them.'
          : 'No certificate was issued to this party; `renkei pki list` shows the parties.',
        serial !== undefined ? { serial } : { partyId: options.partyId },
      );
    }
    const alreadyRevoked = targets.filter((c) => c.status === 'revoked');
    const revoked = targets.filter((c) => c.status !== 'revoked');
    for (const c of revoked) {
      c.status = 'revoked';
      c.revokedAt = now.toISOString();
      c.reason = reason;
    }
    if (revoked.length > 0) {
      index.crlNumber += 1;
      const { issuing, issuingKey } = await openIssuingCa(paths, now);
      const crl = await buildCrl({ issuing, issuingKey, index, crlNumber: index.crlNumber, now });
      // Index first: if the process dies between the two, OCSP already says revoked and the next
      // `renkei pki crl` republishes; the other order could publish a CRL the index does not explain.
      writeIndex(paths.index, index);
      writeCrl(paths, crl);
    }
    return { revoked, alreadyRevoked, crlNumber: index.crlNumber };
  } finally {
    lock.release();
  }
}

/**
 * Sign and publish a fresh CRL (next cRLNumber, thisUpdate now, nextUpdate a day later) without
 * revoking anything. Verifiers refuse a CRL past its nextUpdate, so whoever holds the issuing CA's
 * key runs this at least daily (`renkei pki crl` from cron, or the demo launcher on a timer).
 *
 * Errors: ERR_NO_PKI; ERR_CERT_EXPIRED if the issuing CA has expired.
 */
export async function refreshCrl(options: { dir: string; clock: Clock }): Promise<SignedCrl> {
  const paths = pkiPaths(options.dir);
  assertPkiExists(options.dir);
  const lock = lockDirectory(paths.dir, 'pki');
  try {
    const now = options.clock.now();
    const index = readIndex(paths.index);
    index.crlNumber += 1;
    const { issuing, issuingKey } = await openIssuingCa(paths, now);
    const crl = await buildCrl({ issuing, issuingKey, index, crlNumber: index.crlNumber, now });
    writeIndex(paths.index, index);
    writeCrl(paths, crl);
    return crl;
  } finally {
    lock.release();
  }
}

/**
 * Give the OCSP responder a new key and certificate, as its one-year certificate nears its end.
 * The earlier certificate stays in the index and stays valid until it expires (with
 * id-pkix-ocsp-nocheck no relying party checks its revocation, which is why it is short-lived). The
 * core's `PkiView` picks the new one up at its next OCSP answer.
 *
 * Errors: ERR_NO_PKI; ERR_DATA_DIR_IN_USE; ERR_CERT_EXPIRED if the issuing CA has expired.
 */
export async function renewOcspResponder(options: {
  dir: string;
  clock: Clock;
  random?: RandomBytes;
}): Promise<x509.X509Certificate> {
  const paths = pkiPaths(options.dir);
  assertPkiExists(options.dir);
  const lock = lockDirectory(paths.dir, 'pki');
  try {
    const now = options.clock.now();
    const { issuing, issuingKey } = await openIssuingCa(paths, now);
    const responder = await makeOcspResponder(issuing, issuingKey, now, options.random ?? defaultRandom);
    await saveOcspResponder(paths, responder);
    const index = readIndex(paths.index);
    index.certificates.push(record(responder.certificate, 'core', 'ocsp-responder', 'ocsp-responder', now));
    writeIndex(paths.index, index);
    return responder.certificate;
  } finally {
    lock.release();
  }
}

async function makeOcspResponder(
  issuing: x509.X509Certificate,
  issuingKey: CryptoKey,
  now: Date,
  random: RandomBytes,
): Promise<{ certificate: x509.X509Certificate; privateKey: CryptoKey }> {
  const keys = await generateKeyPair('signing');
  const certificate = await x509.X509CertificateGenerator.create({
    subject: OCSP_RESPONDER_NAME,
    issuer: issuing.subjectName,
    publicKey: keys.publicKey,
    signingKey: issuingKey,
    serialNumber: randomSerial(random),
    ...validity(now, LIFETIME.ocspResponderDays),
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: await ocspResponderExtensions(keys.publicKey, await issuing.publicKey.export()),
  });
  return { certificate, privateKey: keys.privateKey };
}

/** Key first, then certificate: `PkiView` reloads when either changes, so it ends on a matching pair. */
async function saveOcspResponder(
  paths: PkiPaths,
  responder: { certificate: x509.X509Certificate; privateKey: CryptoKey },
): Promise<void> {
  await savePrivateKey(paths.ocspKey, responder.privateKey);
  writePublicFile(paths.ocspCert, pem(responder.certificate));
}

/** A certificate of the index, with its status as of now: `expired` once past notAfter and not revoked. */
export type ListedCertificate = Omit<CertificateRecord, 'status'> & {
  status: 'valid' | 'revoked' | 'expired';
};

/** Every certificate the issuing CA has signed, oldest first. Errors: ERR_NO_PKI, ERR_CONFIG_INVALID. */
export function listCertificates(options: { dir: string; clock: Clock }): ListedCertificate[] {
  assertPkiExists(options.dir);
  const now = options.clock.now().getTime();
  return readIndex(pkiPaths(options.dir).index).certificates.map((c) => ({
    ...c,
    status: c.status === 'revoked' ? 'revoked' : Date.parse(c.notAfter) < now ? 'expired' : 'valid',
  }));
}

async function openIssuingCa(
  paths: PkiPaths,
  now: Date,
): Promise<{ issuing: x509.X509Certificate; issuingKey: CryptoKey }> {
  const issuing = new x509.X509Certificate(readFileSync(paths.issuingCert, 'utf8'));
  if (now > issuing.notAfter) {
    throw new RenkeiError('ERR_CERT_EXPIRED', 'The issuing CA has expired; the network needs a new one.', {
      notAfter: issuing.notAfter.toISOString(),
    });
  }
  return { issuing, issuingKey: await loadSigningKey(paths.issuingKey) };
}

function record(
  cert: x509.X509Certificate,
  role: PartyRole,
  partyId: string,
  kind: CertificateRecord['kind'],
  now: Date,
): CertificateRecord {
  return {
    serial: normaliseSerial(cert.serialNumber),
    partyId,
    role,
    kind,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    issuedAt: now.toISOString(),
    status: 'valid',
    revokedAt: null,
    reason: null,
  };
}

function issued(cert: x509.X509Certificate): IssuedCertificate {
  return {
    serial: normaliseSerial(cert.serialNumber),
    certificate: cert,
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
  };
}

function pem(cert: x509.X509Certificate): string {
  return `${cert.toString('pem')}\n`;
}
