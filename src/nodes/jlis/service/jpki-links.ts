/**
 * Relying parties (署名検証者, e.g. a bank) and J-LIS's linking service (証明書紐付け・新旧紐付け):
 *
 * - an operator registers a relying party by the party id of its network certificate;
 * - a relying party registers a link to a signing certificate by handing J-LIS the holder's signed
 *   consent (a CMS SignedData made with that certificate, naming the relying party): J-LIS verifies
 *   the signature, the chain to the JPKI root and the certificate's status;
 * - for a linked signing certificate S, it may ask for the user-authentication certificate R issued
 *   with it (S→R: later logins with R are recognised as the holder of S), and for the newest signing
 *   certificate after a reissue (最新性確認: old S → new S, and whether the four information changed).
 *
 * A relying party learns nothing about a certificate it holds no link to. Every request, answered or
 * refused, is recorded (who, which operation, which serial, the outcome and error code).
 */
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import { isPartyId, normaliseSerial } from '../../../trust/pki/profiles.ts';
import { x509 } from '../../../trust/pki/x509.ts';
import type {
  AuthenticationSerialAnswer,
  LinkRegistered,
  LinkRequest,
  NewestSigningAnswer,
  RelyingPartyRegistration,
  RelyingPartyView,
  SigningSerialQuery,
} from '../../../protocol/jpki.ts';
import type { JpkiAuthority } from '../jpki/authority.ts';
import { verifySignedData } from '../jpki/cms.ts';
import { readFourInformation } from '../jpki/profiles.ts';
import type { JpkiCertificateRecord, JpkiStore, LinkingEvent } from '../jpki/store.ts';
import type { JpkiCertificateService } from './jpki-certificates.ts';

export interface JpkiLinkServiceDeps {
  store: JpkiStore;
  certificates: JpkiCertificateService;
  authority: JpkiAuthority;
  clock: Clock;
  logger: Logger;
}

/** The longest chain of replacements followed (a resident reissued more often than this is not real). */
const MAX_REPLACEMENTS = 100;

export class JpkiLinkService {
  constructor(private readonly deps: JpkiLinkServiceDeps) {}

  /**
   * Register a relying party (or rename one registered already), by the party id of its network
   * certificate. Errors: ERR_VALIDATION (not a party id).
   */
  async registerRelyingParty(registration: RelyingPartyRegistration): Promise<RelyingPartyView> {
    if (!isPartyId(registration.partyId)) {
      throw new RenkeiError(
        'ERR_VALIDATION',
        'A relying party is named by the party id of its certificate.',
        {
          issues: [{ path: 'partyId', message: 'not a party id' }],
        },
      );
    }
    const registeredAt = this.deps.clock.now();
    await this.deps.store.registerRelyingParty({ ...registration, registeredAt });
    const party = await this.deps.store.findRelyingParty(registration.partyId);
    this.deps.logger.info({ relyingParty: registration.partyId }, 'relying party registered');
    return viewOf(party ?? { ...registration, registeredAt });
  }

  async listRelyingParties(): Promise<RelyingPartyView[]> {
    return (await this.deps.store.listRelyingParties()).map(viewOf);
  }

  /**
   * Register the link between the calling relying party and the signing certificate that signed
   * `signedConsent`: a CMS SignedData whose content is JSON naming the relying party
   * (`{"relyingPartyId": "<its party id>", …}`), so a consent given to one cannot be replayed by another.
   * Errors: ERR_NOT_REGISTERED_RELYING_PARTY, ERR_VALIDATION (not a SignedData, a consent for another
   * relying party), ERR_SIGNATURE_INVALID, ERR_CERT_UNTRUSTED, ERR_CERT_EXPIRED, ERR_CERT_REVOKED,
   * ERR_UNKNOWN_CERTIFICATE (not a signing certificate J-LIS issued).
   */
  async link(caller: string | undefined, request: LinkRequest): Promise<LinkRegistered> {
    return this.recorded(caller, 'link', undefined, async (relyingPartyId) => {
      const { authority, certificates, clock, store } = this.deps;
      const now = clock.now();
      const verified = await verifySignedData(new Uint8Array(Buffer.from(request.signedConsent, 'base64')), {
        root: authority.root,
        issuers: [authority.ca.signing.certificate],
        at: now,
        status: async (certificate) =>
          (await certificates.statusOf('signing', certificate.serialNumber)).status,
      });
      const record = await certificates.find(verified.serial);
      if (!record || record.kind !== 'signing') throw unknownCertificate();
      if (consentedTo(verified.content) !== relyingPartyId) {
        throw new RenkeiError('ERR_VALIDATION', 'The signed consent does not name this relying party.', {
          issues: [{ path: 'signedConsent', message: 'names another relying party' }],
        });
      }
      const created = await store.insertLink(relyingPartyId, record.serial, now);
      return {
        serial: record.serial,
        answer: { signingSerial: record.serial, linkedAt: now.toISOString(), created },
      };
    });
  }

  /**
   * S→R: the user-authentication certificate issued with a linked signing certificate, and both
   * statuses. Errors: ERR_NOT_REGISTERED_RELYING_PARTY, ERR_UNKNOWN_CERTIFICATE,
   * ERR_CERTIFICATE_NOT_LINKED (another relying party's link, or none).
   */
  async authenticationSerial(
    caller: string | undefined,
    query: SigningSerialQuery,
  ): Promise<AuthenticationSerialAnswer> {
    return this.recorded(caller, 'authentication_serial', query.signingSerial, async (relyingPartyId) => {
      const signing = await this.linked(relyingPartyId, query.signingSerial);
      const authentication =
        signing.authenticationSerial === undefined
          ? undefined
          : await this.deps.store.findCertificate(signing.authenticationSerial);
      if (!authentication) throw unknownCertificate();
      return {
        serial: signing.serial,
        answer: {
          signingSerial: signing.serial,
          signingStatus: signing.status,
          authenticationSerial: authentication.serial,
          authenticationStatus: authentication.status,
          authenticationNotAfter: authentication.notAfter.toISOString(),
        },
      };
    });
  }

  /**
   * 最新性確認: the newest signing certificate of the holder of a linked one (itself when not
   * replaced), whether it replaced the one asked about, and whether the four information changed.
   * The relying party's link carries over to the newest certificate. Errors: as
   * `authenticationSerial`.
   */
  async newestSigning(caller: string | undefined, query: SigningSerialQuery): Promise<NewestSigningAnswer> {
    return this.recorded(caller, 'newest_signing', query.signingSerial, async (relyingPartyId) => {
      const asked = await this.linked(relyingPartyId, query.signingSerial);
      let newest = asked;
      for (let i = 0; newest.replacedBy !== undefined && i < MAX_REPLACEMENTS; i++) {
        const next = await this.deps.store.findCertificate(newest.replacedBy);
        if (!next) break;
        newest = next;
      }
      const replaced = newest.serial !== asked.serial;
      if (replaced) await this.deps.store.insertLink(relyingPartyId, newest.serial, this.deps.clock.now());
      return {
        serial: asked.serial,
        answer: {
          signingSerial: asked.serial,
          signingStatus: asked.status,
          ...(asked.reason === undefined ? {} : { revocationReason: asked.reason }),
          replaced,
          newestSerial: newest.serial,
          newestStatus: newest.status,
          newestCertificate: Buffer.from(newest.certificateDer).toString('base64'),
          fourInformationChanged: replaced && fourInformationChanged(asked, newest),
        },
      };
    });
  }

  /** The latest linking requests J-LIS recorded, newest first (answered and refused alike). */
  recordedEvents(limit = 1000): Promise<LinkingEvent[]> {
    return this.deps.store.listLinkingEvents(limit);
  }

  /** The signing certificate `serial`, if the relying party holds a link to it. */
  private async linked(relyingPartyId: string, serial: string): Promise<JpkiCertificateRecord> {
    const record = await this.deps.certificates.find(serial);
    if (!record || record.kind !== 'signing') throw unknownCertificate();
    if (!(await this.deps.store.hasLink(relyingPartyId, record.serial))) {
      throw new RenkeiError(
        'ERR_CERTIFICATE_NOT_LINKED',
        'This relying party holds no link to this signing certificate: register the holder’s signed consent first.',
      );
    }
    return record;
  }

  /** Run a linking operation for a registered relying party, recording its outcome either way. */
  private async recorded<T>(
    caller: string | undefined,
    operation: string,
    askedSerial: string | undefined,
    run: (relyingPartyId: string) => Promise<{ serial: string; answer: T }>,
  ): Promise<T> {
    const { store, clock, logger } = this.deps;
    let serial = safeSerial(askedSerial);
    try {
      if (caller === undefined || !(await store.findRelyingParty(caller))) {
        throw new RenkeiError(
          'ERR_NOT_REGISTERED_RELYING_PARTY',
          'This party is not registered with J-LIS as a relying party.',
        );
      }
      const result = await run(caller);
      serial = result.serial;
      await store.recordLinkingEvent({
        at: clock.now(),
        relyingPartyId: caller,
        operation,
        serial,
        outcome: 'answered',
        errorCode: null,
      });
      return result.answer;
    } catch (error) {
      const code = error instanceof RenkeiError ? error.code : 'ERR_INTERNAL';
      await store.recordLinkingEvent({
        at: clock.now(),
        relyingPartyId: caller ?? null,
        operation,
        serial,
        outcome: 'refused',
        errorCode: code,
      });
      logger.info({ operation, code }, 'JPKI linking request refused');
      throw error;
    }
  }
}

function unknownCertificate(): RenkeiError {
  return new RenkeiError('ERR_UNKNOWN_CERTIFICATE', 'J-LIS issued no signing certificate with this serial.');
}

function safeSerial(serial: string | undefined): string | null {
  if (serial === undefined) return null;
  try {
    return normaliseSerial(serial);
  } catch {
    return null;
  }
}

/** The relying party a consent names: its content is JSON `{ "relyingPartyId": … }`. */
function consentedTo(content: Uint8Array): string | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(content).toString('utf8')) as { relyingPartyId?: unknown };
    return typeof parsed.relyingPartyId === 'string' ? parsed.relyingPartyId : undefined;
  } catch {
    return undefined;
  }
}

function fourInformationChanged(a: JpkiCertificateRecord, b: JpkiCertificateRecord): boolean {
  const one = readFourInformation(new x509.X509Certificate(a.certificateDer));
  const other = readFourInformation(new x509.X509Certificate(b.certificateDer));
  return (
    one.name !== other.name ||
    one.address !== other.address ||
    one.dateOfBirth !== other.dateOfBirth ||
    one.sex !== other.sex
  );
}

function viewOf(party: { partyId: string; name: string; registeredAt: Date }): RelyingPartyView {
  return { partyId: party.partyId, name: party.name, registeredAt: party.registeredAt.toISOString() };
}
