import { z } from 'zod';
import { randomDigits, type RandomSource, secureRandom } from '../../domain/identifiers/index.ts';

/**
 * An internal addressee number (団体内統合宛名番号): an institution's own person number, the link
 * between its business systems, its addressee system and its intermediate server. It never leaves
 * the institution, and it is not derived from the Individual Number (so it reveals nothing of it).
 *
 * The addressee system allocates 15 random digits. A business system that already numbers its
 * persons may supply its own: 1–32 letters, digits, `-` or `_`. We considered sequential numbers
 * (shorter, ordered) but rejected them: they reveal the order, hence roughly the date, of registration.
 */
export const AddresseeNumber = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1-32 letters, digits, hyphens or underscores');
export type AddresseeNumber = z.infer<typeof AddresseeNumber>;

export const ALLOCATED_ADDRESSEE_NUMBER_LENGTH = 15;

export function allocateAddresseeNumber(random: RandomSource = secureRandom): AddresseeNumber {
  return randomDigits(ALLOCATED_ADDRESSEE_NUMBER_LENGTH, random);
}
