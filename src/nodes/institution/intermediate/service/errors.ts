import type { AddresseeNumber } from '../../../../protocol/identifiers.ts';
import { RenkeiError } from '../../../../shared/errors.ts';

export function unknownAddressee(addresseeNumber: AddresseeNumber): RenkeiError {
  return new RenkeiError(
    'ERR_UNKNOWN_ADDRESSEE_NUMBER',
    'No person is registered under this addressee number.',
    {
      addresseeNumber,
    },
  );
}
