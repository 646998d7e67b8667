import type { ErrorCode } from '../../../shared/errors.ts';
import type { JpkiRevocationReason } from './port.ts';
import type { JpkiKind } from './profiles.ts';

/**
 * JPKI's storage port, in J-LIS's database (migration `0004-jpki`): every certificate the JPKI CAs
 * issued, the relying parties registered with J-LIS, the links they registered with their holders'
 * consent, and a record of every linking request, refused or answered. `kysely-store.ts` implements it.
 * No key is stored here; a certificate's DER is (J-LIS is its issuer, and hands the newest signing
 * certificate to a relying party that holds a link to the old one).
 */

export type JpkiCertificateStatus = 'valid' | 'held' | 'revoked';

/**
 * One entry of a CRL: a certificate revoked (its reason) or on hold (`hold`), since `since` (for a
 * hold made final, the hold's time: unusable since then).
 */
export interface JpkiCrlEntry {
  serial: string;
  since: Date;
  reason: JpkiRevocationReason | 'hold';
}

export interface JpkiCertificateRecord {
  /** Lower-case hex without leading zero bytes. */
  serial: string;
  kind: JpkiKind;
  cardId: string;
  residentRecordCode: string;
  notBefore: Date;
  notAfter: Date;
  issuedAt: Date;
  /** `held`: on hold (一時保留) while the card is suspended; `revoked` is final. */
  status: JpkiCertificateStatus;
  /**
   * When it was put on hold; kept when a hold becomes a revocation (the certificate has been unusable
   * since), cleared when the hold is released.
   */
  heldAt: Date | undefined;
  revokedAt: Date | undefined;
  reason: JpkiRevocationReason | undefined;
  /** On a signing certificate: the user-authentication certificate issued with it (証明書紐付け). */
  authenticationSerial: string | undefined;
  /** On a signing certificate: the signing certificate that replaced it (新旧紐付け). */
  replacedBy: string | undefined;
  certificateDer: Uint8Array;
}

export interface RelyingParty {
  /** The party id of its network certificate (role business or institution). */
  partyId: string;
  name: string;
  registeredAt: Date;
}

/** One linking request of a relying party, as J-LIS records it: answered or refused alike. */
export interface LinkingEvent {
  at: Date;
  /** The caller's party id (from its certificate); null when it presented none. */
  relyingPartyId: string | null;
  /** `link`, `authentication_serial`, `newest_signing`. */
  operation: string;
  /** The signing serial asked about, when the request named one. */
  serial: string | null;
  outcome: 'answered' | 'refused';
  errorCode: ErrorCode | null;
}

export interface JpkiStore {
  /**
   * Record a new pair (signing with its authentication serial), and in the same transaction revoke
   * (`reissue`) the resident's earlier certificates still valid and point each earlier signing
   * certificate not yet replaced at the new one.
   */
  insertPair(
    signing: JpkiCertificateRecord,
    authentication: JpkiCertificateRecord,
    at: Date,
  ): Promise<{ revoked: number }>;
  /**
   * Record a signing certificate issued alone onto a card whose user-authentication certificate
   * (`signing.authenticationSerial`) stays (署名用電子証明書の再発行, after an identity change): in the
   * same transaction revoke (`reissue`) the resident's signing certificates still valid and point
   * each earlier one not yet replaced at the new one. `no_authentication` (nothing written) when that
   * user-authentication certificate is not valid, not this card's or not this resident's.
   */
  insertSigning(signing: JpkiCertificateRecord, at: Date): Promise<{ revoked: number } | 'no_authentication'>;
  findCertificate(serial: string): Promise<JpkiCertificateRecord | undefined>;
  /**
   * Revoke the valid or held certificates matching `which`, at `at` for `reason` (a hold becomes
   * final); returns the kinds revoked (so the CRLs to sign again). A revoked certificate stays as it
   * was revoked.
   */
  revoke(
    which: { cardId: string } | { residentRecordCode: string },
    kinds: readonly JpkiKind[],
    reason: JpkiRevocationReason,
    at: Date,
  ): Promise<JpkiKind[]>;
  /** Put the card's valid certificates on hold at `at`; returns the kinds put on hold. */
  hold(cardId: string, at: Date): Promise<JpkiKind[]>;
  /** Release the card's certificates on hold (valid again); returns the kinds released. */
  release(cardId: string): Promise<JpkiKind[]>;
  /**
   * The CRL's entries of a kind: every certificate revoked or on hold whose notAfter is after
   * `expiredBefore` (RFC 5280 §3.3: an entry may leave the CRL once the certificate has expired).
   */
  listRevoked(kind: JpkiKind, expiredBefore: Date): Promise<JpkiCrlEntry[]>;
  /** The next cRLNumber of a kind's CRL (1, 2, …), counted in the database. */
  nextCrlNumber(kind: JpkiKind): Promise<number>;

  /** Register (or rename) a relying party; `false` when it was registered already. */
  registerRelyingParty(party: RelyingParty): Promise<boolean>;
  findRelyingParty(partyId: string): Promise<RelyingParty | undefined>;
  listRelyingParties(): Promise<RelyingParty[]>;
  /** Record that a relying party holds a link to a signing certificate; `false` if it did already. */
  insertLink(relyingPartyId: string, signingSerial: string, at: Date): Promise<boolean>;
  hasLink(relyingPartyId: string, signingSerial: string): Promise<boolean>;
  /** Whether any relying party holds a link to this signing certificate. */
  isLinked(signingSerial: string): Promise<boolean>;
  recordLinkingEvent(event: LinkingEvent): Promise<void>;
  /** The latest linking events, newest first. */
  listLinkingEvents(limit: number): Promise<LinkingEvent[]>;
}
