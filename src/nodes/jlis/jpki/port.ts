import type { JpkiKind } from './profiles.ts';

export interface FourInformation {
  name: string;
  nameKana?: string;
  address: string;
  dateOfBirth: string /* YYYY-MM-DD */;
  sex: 'male' | 'female' | 'other';
} // reuse the J-LIS resident type if one exists
export interface JpkiIssueRequest {
  residentRecordCode: string;
  cardId: string;
  fourInformation: FourInformation;
  signingPublicKeySpki: Uint8Array;
  authenticationPublicKeySpki: Uint8Array;
  notAfter: Date; /* fifth birthday after issuance */
}
export interface JpkiIssued {
  signing: { serial: string; certificateDer: Uint8Array };
  authentication: { serial: string; certificateDer: Uint8Array };
}
/**
 * A signing certificate alone, onto a card whose user-authentication certificate stays in force
 * (署名用電子証明書の再発行 after a move or a name change): linked to that certificate (証明書紐付け).
 */
export interface JpkiSigningRequest {
  residentRecordCode: string;
  cardId: string;
  fourInformation: FourInformation;
  signingPublicKeySpki: Uint8Array;
  /** The card's user-authentication certificate, which must be valid. */
  authenticationSerial: string;
  notAfter: Date;
}
export type JpkiRevocationReason =
  | 'loss'
  | 'death'
  | 'move'
  | 'name_change'
  | 'correction'
  | 'request'
  | 'card_revoked'
  | 'reissue'
  | 'expired_card';
export interface JpkiIssuer {
  issuePair(request: JpkiIssueRequest): Promise<JpkiIssued>;
  /**
   * Errors: ERR_VALIDATION (the user-authentication certificate is not this card's valid one, a bad
   * key or notAfter), ERR_UNKNOWN_RESIDENT, ERR_RESIDENT_STATE.
   */
  issueSigning(request: JpkiSigningRequest): Promise<{ serial: string; certificateDer: Uint8Array }>;
  /**
   * Whether a certificate is in force (`valid`), on hold (`held`: a lost card's, until the
   * suspension is lifted or the card revoked) or revoked for good; undefined for a serial never issued.
   */
  certificateStatus(serial: string): Promise<'valid' | 'held' | 'revoked' | undefined>;
  /**
   * 電子証明書の一時保留: put the card's valid certificates on hold (listed in the CRL as
   * certificateHold, `revoked`/certificateHold in OCSP). Idempotent; returns the kinds put on hold.
   */
  holdForCard(cardId: string): Promise<JpkiKind[]>;
  /**
   * 一時保留の解除: the card's certificates on hold valid again, the same certificates (they leave the
   * next CRL; OCSP answers good). A certificate revoked meanwhile stays revoked. Returns the kinds released.
   */
  releaseForCard(cardId: string): Promise<JpkiKind[]>;
  /** Revoke a card's valid or held certificates for good (a hold becomes final with this reason). */
  revokeForCard(
    cardId: string,
    reason: JpkiRevocationReason,
    which?: 'signing' | 'authentication' | 'both',
  ): Promise<void>;
}
