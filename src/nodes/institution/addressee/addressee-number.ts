import { randomDigits, type RandomSource, secureRandom } from '../../../domain/identifiers/index.ts';

import type { AddresseeNumber } from '../../../protocol/identifiers.ts';

/**
 * The addressee system allocates 15 random digits (the wire form is `AddresseeNumber` of the
 * protocol). We considered sequential numbers (shorter, ordered) but rejected them: they reveal the
 * order, hence roughly the date, of registration.
 */
export const ALLOCATED_ADDRESSEE_NUMBER_LENGTH = 15;

export function allocateAddresseeNumber(random: RandomSource = secureRandom): AddresseeNumber {
  return randomDigits(ALLOCATED_ADDRESSEE_NUMBER_LENGTH, random);
}
