/**
 * Person codes (機関別符号) at the intermediate server: code acquisition (符号取得) on the
 * intermediate server's side (acquisition numbers, the core's delivery) and re-keying the codes it
 * holds after the core rotates the institution's key (符号の再発行).
 */
import { randomBytes } from 'node:crypto';
import type { Client } from '../../../../protocol/api.ts';
import { CodeReissuePageInput, type CodeReissuePage } from '../../../../protocol/business.ts';
import type { AcquisitionNumber, AddresseeNumber, InstitutionId } from '../../../../protocol/identifiers.ts';
import type { CodeDelivery } from '../../../../protocol/messages.ts';
import type { coreApi } from '../../../../protocol/routes.ts';
import type { Clock } from '../../../../shared/clock.ts';
import { RenkeiError } from '../../../../shared/errors.ts';
import type { Logger } from '../../../../shared/logger.ts';
import type { CodeAcquisitionPort } from '../../addressee/service/persons.ts';
import type { IntermediateStore, PersonCodeChange } from '../store.ts';

export interface PersonCodeServiceDeps {
  institutionId: InstitutionId;
  store: IntermediateStore;
  core: Client<typeof coreApi>;
  clock: Clock;
  logger: Logger;
}

/** An acquisition number older than this is refused at delivery even if still stored. */
const ACQUISITION_TTL_MS = 5 * 60_000;

export class PersonCodeService implements CodeAcquisitionPort {
  constructor(private readonly deps: PersonCodeServiceDeps) {}

  async hasPersonCode(addresseeNumber: AddresseeNumber): Promise<boolean> {
    return (await this.deps.store.findPerson(addresseeNumber))?.personCode !== undefined;
  }

  async beginAcquisition(addresseeNumber: AddresseeNumber): Promise<AcquisitionNumber> {
    const acquisitionNumber = randomBytes(16).toString('hex');
    await this.deps.store.beginAcquisition({ acquisitionNumber, addresseeNumber, at: this.deps.clock.now() });
    return acquisitionNumber;
  }

  endAcquisition(acquisitionNumber: AcquisitionNumber, addresseeNumber: AddresseeNumber): Promise<boolean> {
    return this.deps.store.endAcquisition(acquisitionNumber, addresseeNumber);
  }

  /**
   * The core delivers the code for a pending acquisition number; the number is then deleted.
   *
   * Errors: `ERR_UNKNOWN_ACQUISITION_NUMBER` (none pending, or expired); `ERR_DUPLICATE` (the code
   * already belongs to another addressee number here).
   */
  async deliverCode(delivery: CodeDelivery): Promise<void> {
    const now = this.deps.clock.now();
    const result = await this.deps.store.completeAcquisition({
      acquisitionNumber: delivery.acquisitionNumber,
      personCode: delivery.personCode,
      at: now,
      notBefore: new Date(now.getTime() - ACQUISITION_TTL_MS),
    });
    switch (result) {
      case 'completed':
        return;
      case 'unknown':
        throw new RenkeiError(
          'ERR_UNKNOWN_ACQUISITION_NUMBER',
          'No code acquisition is pending under this acquisition number.',
        );
      case 'code_taken':
        this.deps.logger.error('a delivered code already belongs to another addressee number');
        throw new RenkeiError('ERR_DUPLICATE', 'This code already belongs to another person here.');
    }
  }

  /**
   * Reissue one page of this institution's codes under its current key version (the core converts
   * them; nothing here can). The last page tells the core the institution is re-keyed, which lets the
   * core stop sending the previous version of each code and rotate the key again. Run the pages in
   * order, passing the first page's `keyVersion` to the others.
   *
   * Errors: `ERR_KEY_VERSION_CHANGED` (the key rotated since the first page: start again),
   * `ERR_UPSTREAM_UNAVAILABLE`, or the core's error code.
   */
  async reissueCodesPage(input: CodeReissuePageInput): Promise<CodeReissuePage> {
    const { store, core, institutionId, logger } = this.deps;
    const page = CodeReissuePageInput.parse(input);
    const persons = await store.listCodedPersons(page.after, page.limit);
    const answer = await core.reissueCodes({
      body: { institutionId, personCodes: persons.map((p) => p.personCode) },
    });
    if (answer.personCodes.length !== persons.length) {
      throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', 'The core answered the code reissue malformed.', {
        peer: 'core',
      });
    }
    const { keyVersion, personCodes } = answer;
    if (page.keyVersion !== undefined && page.keyVersion !== keyVersion) {
      throw new RenkeiError(
        'ERR_KEY_VERSION_CHANGED',
        `The key rotated from version ${page.keyVersion} to ${keyVersion} during re-keying; run it again from the start.`,
        { expected: page.keyVersion, actual: keyVersion },
      );
    }
    const changes: PersonCodeChange[] = [];
    persons.forEach((person, i) => {
      const to = personCodes[i] ?? null;
      if (to !== person.personCode)
        changes.push({ addresseeNumber: person.addresseeNumber, from: person.personCode, to });
    });
    await store.replacePersonCodes(changes);
    const cleared = changes.filter((c) => c.to === null).map((c) => c.addresseeNumber);
    if (cleared.length > 0) {
      logger.warn({ count: cleared.length }, 'the core did not recognise some codes: they were removed');
    }
    const last = persons.length < page.limit;
    const next = last ? null : (persons.at(-1)?.addresseeNumber ?? null);
    if (last) {
      await core.completeReissue({ body: { institutionId, keyVersion } });
      logger.info({ keyVersion }, 'codes re-keyed');
    }
    return {
      keyVersion,
      total: await store.countCodedPersons(),
      checked: persons.length,
      reissued: changes.length - cleared.length,
      cleared,
      next,
      completed: last,
    };
  }
}
