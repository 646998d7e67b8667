/**
 * J-LIS's JPKI certification authority at work (公的個人認証サービス): issuing a card's two
 * certificates from the public keys the card generated inside itself, revoking them (loss, death,
 * move, name change, request, card revocation, reissue), and publishing their status as a CRL per
 * kind and through OCSP. The card's lifecycle reaches it through `JpkiIssuer` (jpki/port.ts).
 */
import { randomBytes, webcrypto } from 'node:crypto';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { CrlReason, RevocationReason } from '../../../trust/pki/ca-index.ts';
import { signCrl } from '../../../trust/pki/crl.ts';
import { answerOcsp, type OcspCertStatus } from '../../../trust/pki/ocsp.ts';
import { normaliseSerial, randomSerial } from '../../../trust/pki/profiles.ts';
import { x509 } from '../../../trust/pki/x509.ts';
import type { JpkiAuthority } from '../jpki/authority.ts';
import type {
  JpkiIssued,
  JpkiIssueRequest,
  JpkiIssuer,
  JpkiRevocationReason,
  JpkiSigningRequest,
} from '../jpki/port.ts';
import {
  JPKI_KEY_ALGORITHM,
  JPKI_KINDS,
  JPKI_LIFETIME,
  JPKI_SIGNING_ALGORITHM,
  authenticationExtensions,
  holderName,
  signingExtensions,
  type JpkiKind,
} from '../jpki/profiles.ts';
import type { JpkiCertificateRecord, JpkiStore } from '../jpki/store.ts';
import type { JlisStore } from '../store.ts';

/**
 * How each JPKI reason is written in a CRL entry and an OCSP answer (RFC 5280 §5.3.1):
 * a lost card may be in anyone's hands (keyCompromise); a move, a name change or a correction of
 * the four information makes the certified information wrong (affiliationChanged); a reissue supersedes; death, a revoked or an
 * expired card end the holder's use (cessationOfOperation); a holder's own request says no more.
 */
export const RFC5280_REASON: Record<JpkiRevocationReason, RevocationReason> = {
  loss: 'keyCompromise',
  death: 'cessationOfOperation',
  move: 'affiliationChanged',
  name_change: 'affiliationChanged',
  correction: 'affiliationChanged',
  request: 'unspecified',
  card_revoked: 'cessationOfOperation',
  reissue: 'superseded',
  expired_card: 'cessationOfOperation',
};

const REVOCATION_REASONS = Object.keys(RFC5280_REASON) as JpkiRevocationReason[];

export interface JpkiCertificateServiceDeps {
  store: JpkiStore;
  /** J-LIS's identity records: a certificate is issued to a registered, living resident only. */
  residents: Pick<JlisStore, 'findResident'>;
  authority: JpkiAuthority;
  clock: Clock;
  logger: Logger;
  /** Where J-LIS publishes the CRLs and OCSP (`http://…`), named in each certificate; none when absent. */
  publicationUrl?: string;
}

const BACKDATE_MS = 3_600_000;

/**
 * How long an entry stays on the CRL after its certificate expired. RFC 5280 §3.3: "An entry MAY be
 * removed from the CRL after appearing on one regularly scheduled CRL issued beyond the revoked
 * certificate's validity period." A CRL is current for JPKI_LIFETIME.crlMs and signed again within
 * half of it, so keeping the entry one lifetime past notAfter puts it on at least one CRL signed after
 * the expiry (when the CRL was asked for meanwhile). Past that, OpenSSL and every RFC 5280 verifier
 * refuse the certificate as expired anyway. We do not add X.509's ExpiredCertsOnCRL extension: it would
 * promise the opposite.
 */
export const CRL_EXPIRED_GRACE_MS = JPKI_LIFETIME.crlMs;

export class JpkiCertificateService implements JpkiIssuer {
  private readonly crls = new Map<JpkiKind, { der: Uint8Array; at: number; dirty: boolean }>();
  private readonly building = new Map<JpkiKind, Promise<Uint8Array>>();

  constructor(private readonly deps: JpkiCertificateServiceDeps) {}

  /**
   * Issue a card's signing and user-authentication certificates for the public keys the card made.
   * The resident's earlier certificates still valid are revoked (`reissue`), and each earlier signing
   * certificate is linked to the new one (新旧紐付け), in one transaction.
   * Errors: ERR_UNKNOWN_RESIDENT, ERR_RESIDENT_STATE (deceased), ERR_VALIDATION (a key that is not
   * RSA 2048 with exponent 65537, the same key twice, notAfter not in the next five years, no card id).
   */
  async issuePair(request: JpkiIssueRequest): Promise<JpkiIssued> {
    try {
      return await this.issue(request);
    } catch (error) {
      // Recorded by its code only: the request holds the four information.
      const code = error instanceof RenkeiError ? error.code : 'ERR_INTERNAL';
      this.deps.logger.warn({ code }, 'JPKI issuance refused');
      throw error;
    }
  }

  private async issue(request: JpkiIssueRequest): Promise<JpkiIssued> {
    const { store, authority, clock, logger, publicationUrl } = this.deps;
    const now = clock.now();
    await this.checkRequest(request, now);
    const notAfter = request.notAfter;
    if (Buffer.from(request.signingPublicKeySpki).equals(Buffer.from(request.authenticationPublicKeySpki))) {
      invalid('authenticationPublicKeySpki', 'the two certificates certify two different keys');
    }
    const signingKey = await importCardKey(request.signingPublicKeySpki, 'signingPublicKeySpki');
    const authenticationKey = await importCardKey(
      request.authenticationPublicKeySpki,
      'authenticationPublicKeySpki',
    );
    const notBefore = new Date(now.getTime() - BACKDATE_MS);
    const signingSerial = newSerial();
    const authenticationSerial = newSerial();
    const signingCa = authority.ca.signing;
    const authenticationCa = authority.ca.authentication;
    const signing = await x509.X509CertificateGenerator.create({
      serialNumber: signingSerial,
      subject: holderName(signingSerial),
      issuer: signingCa.certificate.subjectName,
      notBefore,
      notAfter,
      signingAlgorithm: JPKI_SIGNING_ALGORITHM,
      publicKey: signingKey,
      signingKey: signingCa.key,
      extensions: await signingExtensions({
        holderKey: signingKey,
        caKey: await signingCa.certificate.publicKey.export(),
        fourInformation: request.fourInformation,
        publicationUrl,
      }),
    });
    const authentication = await x509.X509CertificateGenerator.create({
      serialNumber: authenticationSerial,
      subject: holderName(authenticationSerial),
      issuer: authenticationCa.certificate.subjectName,
      notBefore,
      notAfter,
      signingAlgorithm: JPKI_SIGNING_ALGORITHM,
      publicKey: authenticationKey,
      signingKey: authenticationCa.key,
      extensions: await authenticationExtensions({
        holderKey: authenticationKey,
        caKey: await authenticationCa.certificate.publicKey.export(),
        publicationUrl,
      }),
    });
    const record = (kind: JpkiKind, serial: string, der: ArrayBuffer): JpkiCertificateRecord => ({
      serial,
      kind,
      cardId: request.cardId,
      residentRecordCode: request.residentRecordCode,
      notBefore,
      notAfter,
      issuedAt: now,
      status: 'valid',
      heldAt: undefined,
      revokedAt: undefined,
      reason: undefined,
      authenticationSerial: kind === 'signing' ? authenticationSerial : undefined,
      replacedBy: undefined,
      certificateDer: new Uint8Array(der),
    });
    const { revoked } = await store.insertPair(
      record('signing', signingSerial, signing.rawData),
      record('authentication', authenticationSerial, authentication.rawData),
      now,
    );
    if (revoked > 0) this.invalidate(JPKI_KINDS);
    logger.info({ signingSerial, authenticationSerial, superseded: revoked }, 'JPKI certificates issued');
    return {
      signing: { serial: signingSerial, certificateDer: new Uint8Array(signing.rawData) },
      authentication: {
        serial: authenticationSerial,
        certificateDer: new Uint8Array(authentication.rawData),
      },
    };
  }

  /**
   * 署名用電子証明書の再発行: a signing certificate alone for the key a card made anew, onto a card whose
   * user-authentication certificate stays (after a move or a name change revoked the old signing
   * one). The resident's signing certificates still valid are revoked (`reissue`) and each earlier
   * one points at the new one (新旧紐付け), in one transaction; the new one names the card's
   * user-authentication certificate (証明書紐付け), so S→R answers the same R.
   * Errors: ERR_UNKNOWN_RESIDENT, ERR_RESIDENT_STATE (deceased), ERR_VALIDATION (the
   * user-authentication certificate is not this card's valid one; a key or notAfter as `issuePair`).
   */
  async issueSigning(request: JpkiSigningRequest): Promise<{ serial: string; certificateDer: Uint8Array }> {
    try {
      const { store, authority, clock, logger, publicationUrl } = this.deps;
      const now = clock.now();
      await this.checkRequest(request, now);
      const signingKey = await importCardKey(request.signingPublicKeySpki, 'signingPublicKeySpki');
      const notBefore = new Date(now.getTime() - BACKDATE_MS);
      const serial = newSerial();
      const ca = authority.ca.signing;
      const certificate = await x509.X509CertificateGenerator.create({
        serialNumber: serial,
        subject: holderName(serial),
        issuer: ca.certificate.subjectName,
        notBefore,
        notAfter: request.notAfter,
        signingAlgorithm: JPKI_SIGNING_ALGORITHM,
        publicKey: signingKey,
        signingKey: ca.key,
        extensions: await signingExtensions({
          holderKey: signingKey,
          caKey: await ca.certificate.publicKey.export(),
          fourInformation: request.fourInformation,
          publicationUrl,
        }),
      });
      const der = new Uint8Array(certificate.rawData);
      const done = await store.insertSigning(
        {
          serial,
          kind: 'signing',
          cardId: request.cardId,
          residentRecordCode: request.residentRecordCode,
          notBefore,
          notAfter: request.notAfter,
          issuedAt: now,
          status: 'valid',
          heldAt: undefined,
          revokedAt: undefined,
          reason: undefined,
          authenticationSerial: normaliseSerial(request.authenticationSerial),
          replacedBy: undefined,
          certificateDer: der,
        },
        now,
      );
      if (done === 'no_authentication') {
        invalid('authenticationSerial', "must be the card's valid user-authentication certificate");
      }
      if (done.revoked > 0) this.invalidate(['signing']);
      logger.info({ signingSerial: serial, superseded: done.revoked }, 'JPKI signing certificate issued');
      return { serial, certificateDer: der };
    } catch (error) {
      const code = error instanceof RenkeiError ? error.code : 'ERR_INTERNAL';
      this.deps.logger.warn({ code }, 'JPKI issuance refused');
      throw error;
    }
  }

  /** Whether a certificate is in force, held or revoked, as J-LIS recorded it; undefined for a serial never issued. */
  async certificateStatus(serial: string): Promise<'valid' | 'held' | 'revoked' | undefined> {
    return (await this.find(serial))?.status;
  }

  /**
   * 電子証明書の一時保留: the card's valid certificates on hold, from now: the next CRL lists them with
   * certificateHold, OCSP answers revoked/certificateHold, J-LIS's own checks refuse them. Idempotent.
   */
  async holdForCard(cardId: string): Promise<JpkiKind[]> {
    const held = await this.deps.store.hold(cardId, this.deps.clock.now());
    this.invalidate(held);
    this.deps.logger.info({ kinds: held }, 'JPKI certificates put on hold');
    return held;
  }

  /**
   * 一時保留の解除: the card's held certificates valid again (the same certificates): absent from the
   * next CRL, good in OCSP. One revoked meanwhile (a move during the hold) stays revoked.
   */
  async releaseForCard(cardId: string): Promise<JpkiKind[]> {
    const released = await this.deps.store.release(cardId);
    this.invalidate(released);
    this.deps.logger.info({ kinds: released }, 'JPKI certificate hold released');
    return released;
  }

  /**
   * Certificates of these kinds were revoked in the transaction of an identity change (the store did
   * it, `JlisStore.appendChange`): their CRLs are signed again at the next request.
   */
  revokedWithChange(kinds: readonly JpkiKind[]): void {
    this.invalidate(kinds);
    if (kinds.length > 0)
      this.deps.logger.info({ kinds }, 'JPKI certificates revoked with an identity change');
  }

  /** The resident registered and alive, the card id well-formed, notAfter within the five years. */
  private async checkRequest(
    request: { residentRecordCode: string; cardId: string; notAfter: Date },
    now: Date,
  ): Promise<void> {
    const resident = await this.deps.residents.findResident(request.residentRecordCode);
    if (!resident)
      throw new RenkeiError('ERR_UNKNOWN_RESIDENT', 'No resident has this resident record code.');
    if (resident.status === 'deceased') {
      throw new RenkeiError('ERR_RESIDENT_STATE', 'No certificate is issued to a deceased resident.');
    }
    if (!/^[\w.:-]{1,64}$/.test(request.cardId))
      invalid('cardId', 'a card id is 1 to 64 letters, digits, ., :, _ or -');
    const notAfter = request.notAfter;
    if (
      !(notAfter.getTime() > now.getTime()) ||
      notAfter.getTime() - now.getTime() > JPKI_LIFETIME.holderMaxMs
    ) {
      invalid('notAfter', 'must be after now and at most the fifth birthday after issuance');
    }
  }

  /**
   * Revoke a card's certificates, valid or on hold (both unless `which` says one). Idempotent:
   * certificates revoked already stay as they were. Errors: ERR_VALIDATION (an unknown reason).
   */
  async revokeForCard(
    cardId: string,
    reason: JpkiRevocationReason,
    which: 'signing' | 'authentication' | 'both' = 'both',
  ): Promise<void> {
    if (!REVOCATION_REASONS.includes(reason)) invalid('reason', `one of ${REVOCATION_REASONS.join(', ')}`);
    const kinds = which === 'both' ? JPKI_KINDS : [which];
    const revoked = await this.deps.store.revoke({ cardId }, kinds, reason, this.deps.clock.now());
    this.invalidate(revoked);
    this.deps.logger.info({ reason, kinds: revoked }, 'JPKI certificates revoked');
  }

  /** A certificate as J-LIS recorded it; undefined for a serial it never issued (any hex form). */
  async find(serial: string): Promise<JpkiCertificateRecord | undefined> {
    let key: string;
    try {
      key = normaliseSerial(serial);
    } catch {
      return undefined;
    }
    return this.deps.store.findCertificate(key);
  }

  /**
   * good / revoked (time, RFC 5280 reason) / unknown, of a certificate of `kind`, now. A certificate
   * on hold is `revoked` with certificateHold (RFC 6960 §2.2), since the hold; a hold made final keeps
   * the hold's time, with the final reason.
   */
  async statusOf(kind: JpkiKind, serial: string): Promise<OcspCertStatus> {
    const record = await this.find(serial);
    if (!record || record.kind !== kind) return { status: 'unknown' };
    switch (record.status) {
      case 'valid':
        return { status: 'good' };
      case 'held':
        return { status: 'revoked', revokedAt: record.heldAt ?? record.issuedAt, reason: 'certificateHold' };
      case 'revoked':
        return {
          status: 'revoked',
          revokedAt: record.heldAt ?? record.revokedAt ?? record.issuedAt,
          reason: RFC5280_REASON[record.reason ?? 'request'],
        };
    }
  }

  /** Answer an OCSP request (RFC 6960) about JPKI certificates of either kind. */
  async respondOcsp(requestDer: Uint8Array): Promise<Uint8Array> {
    return answerOcsp(requestDer, {
      clock: this.deps.clock,
      authorities: JPKI_KINDS.map((kind) => ({
        issuing: this.deps.authority.ca[kind].certificate,
        responder: () => Promise.resolve(this.deps.authority.ca[kind].responder),
        statusOf: (serial: string) => this.statusOf(kind, serial),
      })),
    });
  }

  /**
   * The current CRL of a kind (DER), signed again after a revocation, a hold or its release, and once
   * half its day has passed, each time with the next cRLNumber: a full CRL, never a delta, so a
   * released hold simply leaves it (no removeFromCRL entry, which RFC 5280 §5.3.1 keeps for delta
   * CRLs). Only certificates not yet expired (with CRL_EXPIRED_GRACE_MS) are listed.
   */
  async crl(kind: JpkiKind): Promise<Uint8Array> {
    const cached = this.crls.get(kind);
    const now = this.deps.clock.now().getTime();
    if (cached && !cached.dirty && now - cached.at < JPKI_LIFETIME.crlMs / 2) return cached.der;
    let pending = this.building.get(kind);
    if (!pending) {
      pending = this.buildCrl(kind).finally(() => this.building.delete(kind));
      this.building.set(kind, pending);
    }
    return pending;
  }

  private async buildCrl(kind: JpkiKind): Promise<Uint8Array> {
    const { store, authority, clock } = this.deps;
    const now = clock.now();
    // Marked clean before reading, so a revocation landing during the build marks it dirty again.
    this.crls.set(kind, { der: this.crls.get(kind)?.der ?? new Uint8Array(), at: 0, dirty: false });
    const revoked = await store.listRevoked(kind, new Date(now.getTime() - CRL_EXPIRED_GRACE_MS));
    const crl = await signCrl({
      issuing: authority.ca[kind].certificate,
      issuingKey: authority.ca[kind].key,
      revoked: revoked.map((r) => ({
        serial: r.serial,
        revokedAt: r.since,
        reason: r.reason === 'hold' ? ('certificateHold' satisfies CrlReason) : RFC5280_REASON[r.reason],
      })),
      crlNumber: await store.nextCrlNumber(kind),
      now,
      lifetimeMs: JPKI_LIFETIME.crlMs,
      signingAlgorithm: JPKI_SIGNING_ALGORITHM,
    });
    const der = crl.der;
    const entry = this.crls.get(kind);
    this.crls.set(kind, { der, at: now.getTime(), dirty: entry?.dirty ?? false });
    return der;
  }

  private invalidate(kinds: readonly JpkiKind[]): void {
    for (const kind of kinds) {
      const cached = this.crls.get(kind);
      if (cached) cached.dirty = true;
    }
  }
}

function newSerial(): string {
  return randomSerial((n) => new Uint8Array(randomBytes(n)));
}

function invalid(path: string, message: string): never {
  throw new RenkeiError('ERR_VALIDATION', `The certificate request is invalid: ${path} ${message}.`, {
    issues: [{ path, message }],
  });
}

/** A card's public key: RSA 2048 with exponent 65537, as the real card's, or ERR_VALIDATION. */
async function importCardKey(spki: Uint8Array, path: string): Promise<CryptoKey> {
  let key: CryptoKey;
  try {
    key = await webcrypto.subtle.importKey('spki', new Uint8Array(spki), JPKI_SIGNING_ALGORITHM, true, [
      'verify',
    ]);
  } catch {
    invalid(path, 'must be an RSA public key (SubjectPublicKeyInfo DER)');
  }
  const algorithm = key.algorithm as webcrypto.RsaHashedKeyAlgorithm;
  const exponent = Buffer.from(algorithm.publicExponent).toString('hex').replace(/^0+/, '');
  if (algorithm.modulusLength !== JPKI_KEY_ALGORITHM.modulusLength || exponent !== '10001') {
    invalid(path, 'must be RSA 2048 with public exponent 65537');
  }
  return key;
}
