import { parseIndividualNumber } from '../../../../domain/identifiers/index.ts';
import type { Client } from '../../../../protocol/api.ts';
import type { jlisApi } from '../../../../protocol/routes.ts';
import type { AcquisitionNumber, InstitutionId } from '../../../../protocol/identifiers.ts';
import type { CodeAcquisitionRequest } from '../../../../protocol/messages.ts';
import type { Clock } from '../../../../shared/clock.ts';
import { RenkeiError } from '../../../../shared/errors.ts';
import type { Logger } from '../../../../shared/logger.ts';
import type { AddresseeNumber } from '../../../../protocol/identifiers.ts';
import { allocateAddresseeNumber } from '../addressee-number.ts';
import type { AddresseeStore } from '../store.ts';

/**
 * What the addressee system needs from the intermediate server for code acquisition (符号取得). The
 * intermediate server implements it; the two systems share no database and no Individual Number
 * crosses this seam: only addressee numbers and acquisition numbers.
 */
export interface CodeAcquisitionPort {
  /** True once the intermediate server holds a person code for the addressee number. */
  hasPersonCode(addresseeNumber: AddresseeNumber): Promise<boolean>;
  /** Make a one-time acquisition number and keep it, pending, against the addressee number. */
  beginAcquisition(addresseeNumber: AddresseeNumber): Promise<AcquisitionNumber>;
  /**
   * The request is over, whatever its result: forget the acquisition number if it is still pending,
   * and tell whether the code arrived for the addressee number.
   */
  endAcquisition(acquisitionNumber: AcquisitionNumber, addresseeNumber: AddresseeNumber): Promise<boolean>;
}

export interface RegisteredPerson {
  addresseeNumber: AddresseeNumber;
  codeStatus: 'acquired';
  /** False when the person was already registered (the call is idempotent). */
  created: boolean;
}

export interface AddresseeServiceDeps {
  institutionId: InstitutionId;
  store: AddresseeStore;
  intermediate: CodeAcquisitionPort;
  jlis: Client<typeof jlisApi>;
  clock: Clock;
  logger: Logger;
}

/**
 * The addressee system (団体内統合宛名システム): addressee number ↔ Individual Number, and the
 * institution's side of code acquisition. The only part of an institution that handles the
 * Individual Number; it passes it to J-LIS and to nobody else.
 */
export class AddresseeService {
  constructor(private readonly deps: AddresseeServiceDeps) {}

  /**
   * Register a person and make sure the intermediate server holds their code.
   *
   * Errors: `ERR_INVALID_CHARACTER`, `ERR_INVALID_LENGTH`, `ERR_INVALID_CHECK_DIGIT` (the Individual
   * Number, never echoed); `ERR_INDIVIDUAL_NUMBER_REPLACED` (a number J-LIS told us was replaced);
   * `ERR_DUPLICATE` (the number or the supplied addressee number is already
   * registered with another); from code acquisition, with `details.addresseeNumber` (the person stays
   * registered; calling again retries): `ERR_UNKNOWN_RESIDENT`, `ERR_UPSTREAM_UNAVAILABLE`, or any
   * other code J-LIS or the core answered.
   */
  async registerPerson(input: {
    individualNumber: string;
    addresseeNumber?: AddresseeNumber;
  }): Promise<RegisteredPerson> {
    const individualNumber = parseIndividualNumber(input.individualNumber);
    const registration = await this.deps.store.register({
      individualNumber,
      ...(input.addresseeNumber === undefined ? {} : { addresseeNumber: input.addresseeNumber }),
      allocate: () => allocateAddresseeNumber(),
      registeredAt: this.deps.clock.now(),
    });
    switch (registration.kind) {
      case 'individual_number_taken':
        throw new RenkeiError(
          'ERR_DUPLICATE',
          'This Individual Number is already registered under another addressee number.',
        );
      case 'addressee_number_taken':
        throw new RenkeiError('ERR_DUPLICATE', 'This addressee number already belongs to another person.', {
          addresseeNumber: input.addresseeNumber,
        });
      case 'individual_number_replaced':
        throw new RenkeiError(
          'ERR_INDIVIDUAL_NUMBER_REPLACED',
          'This Individual Number was replaced by a number change; ask the resident for their new number.',
        );
      case 'created':
      case 'existing':
        break;
    }
    const { addresseeNumber } = registration;
    const created = registration.kind === 'created';
    if (!(await this.deps.intermediate.hasPersonCode(addresseeNumber))) {
      await this.acquireCode(addresseeNumber, individualNumber);
    }
    return { addresseeNumber, codeStatus: 'acquired', created };
  }

  /** How many persons the addressee system knows. */
  countPersons(): Promise<number> {
    return this.deps.store.count();
  }

  /**
   * 符号取得: the intermediate server makes an acquisition number; we send it with the Individual
   * Number to J-LIS, which relays the resident record code to the core, which delivers the code to
   * the intermediate server (`POST /network/v1/code-deliveries`) before J-LIS answers us. The
   * acquisition number is forgotten when this request ends, delivered or not.
   */
  private async acquireCode(addresseeNumber: AddresseeNumber, individualNumber: string): Promise<void> {
    const { intermediate, jlis, institutionId, logger } = this.deps;
    const acquisitionNumber = await intermediate.beginAcquisition(addresseeNumber);
    let failure: RenkeiError | undefined;
    try {
      const request: CodeAcquisitionRequest = { institutionId, acquisitionNumber, individualNumber };
      await jlis.acquireCode({ body: request });
    } catch (error) {
      failure =
        error instanceof RenkeiError
          ? error
          : new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', 'J-LIS could not be reached.', { peer: 'J-LIS' });
    }
    const delivered = await intermediate.endAcquisition(acquisitionNumber, addresseeNumber);
    if (delivered && failure !== undefined) {
      // The core delivered the code but J-LIS's answer was lost (e.g. a timeout): the code is ours.
      logger.warn({ code: failure.code }, 'code delivered although J-LIS answered an error');
      failure = undefined;
    }
    if (failure === undefined && !delivered) {
      failure = new RenkeiError(
        'ERR_UPSTREAM_UNAVAILABLE',
        'J-LIS accepted the code acquisition but no code reached the intermediate server.',
      );
    }
    if (failure !== undefined) {
      logger.warn({ code: failure.code }, 'code acquisition failed');
      // Only the fields we know to be safe travel on: never whatever else a peer put in its details.
      const safe: Record<string, unknown> = { addresseeNumber, codeStatus: 'none' };
      for (const key of ['peer', 'rule'] as const) {
        if (typeof failure.details[key] === 'string') safe[key] = failure.details[key];
      }
      throw new RenkeiError(failure.code, `Code acquisition failed: ${failure.message}`, safe);
    }
    logger.info('code acquired');
  }
}
