/**
 * The portal's institution-specific code (機関別符号) for each resident who logs in. The portal is a
 * party of the network like any institution and acquires its code through J-LIS, but it holds no
 * Individual Number to give: on a first login it presents the user-authentication certificate and
 * the card's signature over the login challenge instead (`jlisApi.acquirePortalCode`), J-LIS maps the
 * certificate to the resident, and the core delivers the code here (`networkApi.deliverCode`) before
 * J-LIS answers. The code is per person, not per card: a renewed card's new serial is linked to the
 * person who already holds that code.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { Client } from '../../../protocol/api.ts';
import type { CodeDelivery } from '../../../protocol/messages.ts';
import type { jlisApi } from '../../../protocol/routes.ts';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { PortalStore } from '../store.ts';
import type { PersonDirectory } from './login.ts';

/** An acquisition older than this is refused at delivery (the core delivers within J-LIS's call). */
const ACQUISITION_TTL_MS = 5 * 60_000;

export interface PersonCodeServiceDeps {
  /** The portal's institution id in the core's registry (its certificate's party). */
  institutionId: string;
  store: PortalStore;
  clock: Clock;
  logger: Logger;
  jlis: Client<typeof jlisApi>;
}

export class PersonCodeService implements PersonDirectory {
  constructor(private readonly deps: PersonCodeServiceDeps) {}

  /**
   * The person who holds this certificate, acquiring the portal's code on their first login.
   * Errors: J-LIS's refusal (ERR_UNKNOWN_CERTIFICATE, ERR_CERT_REVOKED, ERR_SIGNATURE_INVALID…), the
   * core's passed through, ERR_UPSTREAM_UNAVAILABLE.
   */
  async personFor(serial: string, proof: Parameters<PersonDirectory['personFor']>[1]): Promise<string> {
    const { store, clock, jlis, institutionId } = this.deps;
    const known = await store.findPersonBySerial(serial);
    if (known !== undefined) return known;
    const acquisitionNumber = randomBytes(16).toString('hex');
    await store.beginAcquisition(acquisitionNumber, serial, clock.now());
    try {
      await jlis.acquirePortalCode({
        body: {
          institutionId,
          acquisitionNumber,
          authenticationCertificate: Buffer.from(proof.certificateDer).toString('base64'),
          challenge: proof.challenge,
          signature: Buffer.from(proof.signature).toString('base64'),
        },
      });
    } catch (error) {
      await store.endAcquisition(acquisitionNumber);
      throw error;
    }
    const person = await store.findPersonBySerial(serial);
    if (person === undefined) {
      // J-LIS answers only after the core delivered; a code not here is a broken promise upstream.
      throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', 'The portal’s code was not delivered; try again.', {
        peer: 'J-LIS',
      });
    }
    this.deps.logger.info('a resident’s first login: the portal’s code acquired');
    return person;
  }

  /**
   * The core delivers the code for a pending acquisition. Errors: ERR_UNKNOWN_ACQUISITION_NUMBER
   * (none pending, or expired).
   */
  async deliverCode(delivery: CodeDelivery): Promise<void> {
    const now = this.deps.clock.now();
    const result = await this.deps.store.completeAcquisition({
      acquisitionNumber: delivery.acquisitionNumber,
      personCode: delivery.personCode,
      newPersonId: randomUUID(),
      at: now,
      notBefore: new Date(now.getTime() - ACQUISITION_TTL_MS),
    });
    if (result === 'unknown') {
      throw new RenkeiError(
        'ERR_UNKNOWN_ACQUISITION_NUMBER',
        'No code acquisition is pending under this acquisition number.',
      );
    }
  }
}
