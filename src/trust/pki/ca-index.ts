/**
 * The index of every certificate the issuing CA has signed: the CA's memory of what it issued and
 * revoked, from which the CRL is signed and OCSP is answered. A JSON file, replaced atomically.
 *
 * We considered SQLite (the nodes' store), but the index is written by rare operator commands and
 * read by the core's OCSP responder in another process; one small file that `renkei pki list`,
 * `jq` and a reviewer can read, replaced by rename, is simpler and never half-written. It holds no
 * key and no personal data: serials, party ids, roles and dates.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { RenkeiError } from '../../shared/errors.ts';
import { writePublicFile } from './files.ts';
import { PARTY_ROLES } from './profiles.ts';

/**
 * The RFC 5280 §5.3.1 reasons an operator can give. certificateHold is left out on purpose: a hold
 * can be lifted, and a revocation here is final (re-issue instead). removeFromCRL, privilegeWithdrawn
 * and aACompromise are left out as they concern holds and attribute certificates.
 */
export const REVOCATION_REASONS = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
} as const;
export type RevocationReason = keyof typeof REVOCATION_REASONS;

/**
 * Every code a CRL entry or an OCSP answer can carry (RFC 5280 §5.3.1): the operator's reasons above,
 * and certificateHold, which a CA that puts certificates on hold writes (J-LIS's JPKI, while a lost
 * card is suspended). removeFromCRL is left out: it belongs to delta CRLs, which no CA here publishes.
 */
export const CRL_REASON_CODES = { ...REVOCATION_REASONS, certificateHold: 6 } as const;
export type CrlReason = keyof typeof CRL_REASON_CODES;

export function isRevocationReason(value: string): value is RevocationReason {
  return Object.hasOwn(REVOCATION_REASONS, value);
}

/** ERR_VALIDATION, listing the reasons, unless `value` is one of them. */
export function assertRevocationReason(value: string): asserts value is RevocationReason {
  if (!isRevocationReason(value)) {
    throw new RenkeiError(
      'ERR_VALIDATION',
      `A revocation reason is one of: ${Object.keys(REVOCATION_REASONS).join(', ')}.`,
      { field: 'reason' },
    );
  }
}

const IsoTime = z.iso.datetime();

/** One certificate the issuing CA signed. */
export const CertificateRecord = z.object({
  /** Lower-case hex without leading zero bytes (see `normaliseSerial`). */
  serial: z.string().regex(/^[0-9a-f]+$/),
  partyId: z.string(),
  role: z.enum(PARTY_ROLES),
  kind: z.enum(['identity', 'encryption', 'ocsp-responder']),
  notBefore: IsoTime,
  notAfter: IsoTime,
  issuedAt: IsoTime,
  /** `valid` until revoked; expiry is read from notAfter, not written here. */
  status: z.enum(['valid', 'revoked']),
  revokedAt: IsoTime.nullable(),
  reason: z.enum(Object.keys(REVOCATION_REASONS) as [RevocationReason, ...RevocationReason[]]).nullable(),
});
export type CertificateRecord = z.infer<typeof CertificateRecord>;

export const CertificateIndex = z.object({
  version: z.literal(1),
  /** The number of the last CRL signed; the next one carries crlNumber + 1 (RFC 5280 §5.2.3). */
  crlNumber: z.number().int().nonnegative(),
  certificates: z.array(CertificateRecord),
});
export type CertificateIndex = z.infer<typeof CertificateIndex>;

/** The index at `path`; ERR_CONFIG_INVALID if it is not one (a broken index must never read as "nothing revoked"). */
export function readIndex(path: string): CertificateIndex {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch {
    throw new RenkeiError('ERR_CONFIG_INVALID', 'The PKI certificate index cannot be read as JSON.', {
      path,
    });
  }
  const parsed = CertificateIndex.safeParse(json);
  if (!parsed.success) {
    throw new RenkeiError('ERR_CONFIG_INVALID', 'The PKI certificate index is not in the expected format.', {
      path,
    });
  }
  return parsed.data;
}

/** Replace the index at `path` (temporary file, then rename). */
export function writeIndex(path: string, index: CertificateIndex): void {
  writePublicFile(path, `${JSON.stringify(CertificateIndex.parse(index), null, 2)}\n`);
}
