/**
 * The relay of code acquisition (符号取得): an institution's addressee system sends J-LIS a one-time
 * acquisition number with the Individual Number; J-LIS turns the number into the resident record
 * code and asks the core to issue the institution's code. J-LIS never sees the code (the core
 * delivers it to the institution), and the core never sees the Individual Number.
 */
import { webcrypto } from 'node:crypto';
import { parseIndividualNumber } from '../../../domain/identifiers/individual-number.ts';
import type { Client } from '../../../protocol/api.ts';
import type { CodeAcquisitionRelayed, CodeAcquisitionRequest } from '../../../protocol/messages.ts';
import { loginMessage, type PortalCodeAcquisitionRequest } from '../../../protocol/portal.ts';
import { x509 } from '../../../trust/pki/x509.ts';
import type { JpkiCertificateRecord } from '../jpki/store.ts';
import { JPKI_SIGNING_ALGORITHM } from '../jpki/profiles.ts';
import type { coreApi } from '../../../protocol/routes.ts';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { JlisStore, RelayOutcome } from '../store.ts';

export interface CodeAcquisitionRelayDeps {
  store: JlisStore;
  clock: Clock;
  logger: Logger;
  /** The core, for code issuance. */
  core: Client<typeof coreApi>;
  /** J-LIS's record of the certificates its JPKI CA issued (the portal's acquisitions); none without JPKI. */
  certificates?: { find(serial: string): Promise<JpkiCertificateRecord | undefined> } | undefined;
}

/** How far ahead a login challenge may expire: the portal's own lifetime is 5 minutes. */
const LOGIN_CHALLENGE_MAX_LIFETIME_MS = 10 * 60_000;

export class CodeAcquisitionRelay {
  constructor(private readonly deps: CodeAcquisitionRelayDeps) {}

  /**
   * Relay one acquisition. Every call that names an institution is recorded, refusals included.
   * Errors: ERR_INVALID_CHECK_DIGIT (and the other identifier errors), ERR_UNKNOWN_RESIDENT, and
   * whatever the core answers (ERR_UNKNOWN_INSTITUTION, ERR_DUPLICATE, …) or ERR_UPSTREAM_UNAVAILABLE.
   */
  async relay(request: CodeAcquisitionRequest): Promise<CodeAcquisitionRelayed> {
    const { store } = this.deps;
    let residentRecordCode: string | undefined;
    try {
      residentRecordCode = await store.findResidentRecordCode(
        parseIndividualNumber(request.individualNumber),
      );
    } catch (error) {
      await this.record(request, 'refused', error);
      throw error;
    }
    if (residentRecordCode === undefined) {
      const replaced = await store.isReplacedNumber(request.individualNumber);
      const error = replaced
        ? new RenkeiError(
            'ERR_INDIVIDUAL_NUMBER_REPLACED',
            'This Individual Number was replaced by a new one (番号の変更) and is no longer valid; ask the person for their current number.',
          )
        : new RenkeiError('ERR_UNKNOWN_RESIDENT', 'No resident has this Individual Number.');
      await this.record(request, 'refused', error);
      throw error;
    }
    return this.relayFor(request, residentRecordCode);
  }

  /**
   * Relay the Myna Portal's acquisition of its code for a person who has just logged in: J-LIS finds
   * the user-authentication certificate in its own records (the one the portal presents must be that
   * very certificate), checks it is valid now and that the card signed the login challenge with it,
   * and relays for the certificate's resident. The portal thus never needs the Individual Number, and
   * cannot acquire a code for someone who did not log in (it holds no card's key). Recorded as any
   * relay. Errors: ERR_UNKNOWN_CERTIFICATE, ERR_CERT_REVOKED, ERR_CERT_EXPIRED, ERR_SIGNATURE_INVALID,
   * ERR_MESSAGE_STALE, and the core's answer or ERR_UPSTREAM_UNAVAILABLE as `relay`.
   */
  async relayForPortal(request: PortalCodeAcquisitionRequest): Promise<CodeAcquisitionRelayed> {
    let residentRecordCode: string;
    try {
      residentRecordCode = await this.provenResident(request);
    } catch (error) {
      await this.record(request, 'refused', error);
      throw error;
    }
    return this.relayFor(request, residentRecordCode);
  }

  /**
   * The relay itself, once the resident is known (by Individual Number, or by the portal's login):
   * the core issues the institution's code for them; recorded `relayed`, or `failed` with the
   * core's error (rethrown).
   */
  private async relayFor(
    request: Pick<CodeAcquisitionRequest, 'institutionId' | 'acquisitionNumber'>,
    residentRecordCode: string,
  ): Promise<CodeAcquisitionRelayed> {
    try {
      await this.deps.core.issueCode({
        body: {
          institutionId: request.institutionId,
          acquisitionNumber: request.acquisitionNumber,
          residentRecordCode,
        },
      });
    } catch (error) {
      await this.record(request, 'failed', error);
      throw error;
    }
    await this.record(request, 'relayed');
    return { acquisitionNumber: request.acquisitionNumber, status: 'relayed' };
  }

  private async provenResident(request: PortalCodeAcquisitionRequest): Promise<string> {
    const now = this.deps.clock.now();
    const unknown = () =>
      new RenkeiError(
        'ERR_UNKNOWN_CERTIFICATE',
        'J-LIS issued no user-authentication certificate like this one.',
      );
    const der = new Uint8Array(Buffer.from(request.authenticationCertificate, 'base64'));
    let presented: x509.X509Certificate;
    try {
      presented = new x509.X509Certificate(der);
    } catch {
      throw unknown();
    }
    const record = await this.deps.certificates?.find(presented.serialNumber);
    // The record's own DER, byte for byte: a certificate with the same serial from anywhere else is not it.
    if (!record || record.kind !== 'authentication' || !Buffer.from(record.certificateDer).equals(der)) {
      throw unknown();
    }
    if (record.status !== 'valid') {
      // On hold (a card reported lost) as much as revoked: not usable until the suspension is lifted.
      throw new RenkeiError(
        'ERR_CERT_REVOKED',
        `This user-authentication certificate is ${record.status === 'held' ? 'on hold (its card is suspended)' : 'revoked'}.`,
      );
    }
    if (now < record.notBefore || now > record.notAfter) {
      throw new RenkeiError('ERR_CERT_EXPIRED', 'This user-authentication certificate is not valid today.');
    }
    const expiresAt = Date.parse(request.challenge.expiresAt);
    if (expiresAt <= now.getTime() || expiresAt > now.getTime() + LOGIN_CHALLENGE_MAX_LIFETIME_MS) {
      throw new RenkeiError('ERR_MESSAGE_STALE', 'The login challenge is expired or not a current one.');
    }
    const key = await presented.publicKey.export(JPKI_SIGNING_ALGORITHM, ['verify'], webcrypto);
    const signed = await webcrypto.subtle.verify(
      JPKI_SIGNING_ALGORITHM,
      key,
      new Uint8Array(Buffer.from(request.signature, 'base64')),
      new Uint8Array(loginMessage(request.challenge)),
    );
    if (!signed) {
      throw new RenkeiError(
        'ERR_SIGNATURE_INVALID',
        'The login signature does not verify with this user-authentication certificate.',
      );
    }
    return record.residentRecordCode;
  }

  private async record(
    request: Pick<CodeAcquisitionRequest, 'institutionId' | 'acquisitionNumber'>,
    outcome: RelayOutcome,
    error?: unknown,
  ): Promise<void> {
    const errorCode =
      error instanceof RenkeiError ? error.code : error === undefined ? undefined : 'ERR_INTERNAL';
    await this.deps.store.recordRelay({
      relayedAt: this.deps.clock.now(),
      institutionId: request.institutionId,
      acquisitionNumber: request.acquisitionNumber,
      outcome,
      errorCode,
    });
    // Who asked and what happened: never the number, the code or the acquisition number.
    this.deps.logger.info(
      { institutionId: request.institutionId, outcome, code: errorCode },
      'code acquisition',
    );
  }
}
