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
export type JpkiRevocationReason =
  'loss' | 'death' | 'move' | 'name_change' | 'request' | 'card_revoked' | 'reissue' | 'expired_card';
export interface JpkiIssuer {
  issuePair(request: JpkiIssueRequest): Promise<JpkiIssued>;
  revokeForCard(
    cardId: string,
    reason: JpkiRevocationReason,
    which?: 'signing' | 'authentication' | 'both',
  ): Promise<void>;
  revokeSigningForResident(
    residentRecordCode: string,
    reason: 'move' | 'name_change' | 'death',
  ): Promise<void>;
}
