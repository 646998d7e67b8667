import { createHmac } from 'node:crypto';
import {
  completeIndividualNumber,
  type IndividualNumber,
} from '../../domain/identifiers/individual-number.ts';

/** Bytes of the J-LIS numbering key (HMAC-SHA256 key). */
export const NUMBERING_KEY_BYTES = 32;

const BASE_MODULUS = 10n ** 11n;

/**
 * The Individual Number derived from a resident record code (個人番号生成機能): HMAC-SHA256 of the
 * code under J-LIS's secret numbering key, read as a 256-bit integer, reduced modulo 10¹¹ to an
 * 11-digit base, plus the check digit. `counter` is 0 for the first attempt and goes up only when the
 * derived number is already someone's (about one chance in 10¹¹ per resident already numbered).
 *
 * Why keyed: the law asks that the number be derived from the resident record code yet not be
 * computable from it by anyone else; without the key, knowing a code tells nothing of the number. The
 * bias of the reduction (2²⁵⁶ mod 10¹¹ over 2²⁵⁶) is negligible. We considered drawing numbers at
 * random and storing them, which works as well, but derivation is what the seeds describe and lets an
 * auditor holding the key re-check every assignment.
 */
export function deriveIndividualNumber(
  key: Uint8Array,
  residentRecordCode: string,
  counter: number,
): IndividualNumber {
  if (key.length < NUMBERING_KEY_BYTES) throw new TypeError('the numbering key is too short');
  if (!Number.isInteger(counter) || counter < 0)
    throw new TypeError('counter must be a non-negative integer');
  const message = counter === 0 ? residentRecordCode : `${residentRecordCode}:${counter}`;
  const digest = createHmac('sha256', key).update(message, 'utf8').digest('hex');
  const base = (BigInt(`0x${digest}`) % BASE_MODULUS).toString().padStart(11, '0');
  return completeIndividualNumber(base);
}
