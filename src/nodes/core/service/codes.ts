/**
 * Code issuance (符号の生成・発行) and reissue after key rotation.
 *
 * Issuance: J-LIS relays an institution's acquisition number with the person's resident record code
 * (never the Individual Number); the core finds or creates the person's linking code, derives the
 * institution's code, and delivers it straight to the institution with the acquisition number (J-LIS
 * never sees the code).
 */
import { randomBytes } from 'node:crypto';
import type {
  CodeDelivery,
  CodeIssuanceRequest,
  CodeIssued,
  CodeReissueAnswer,
  CodeReissueCompletion,
} from '../../../protocol/messages.ts';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { CoreStore } from '../store.ts';
import { LINKING_CODE_BYTES, type CodeCipher } from './code-cipher.ts';
import { QUEUE_DEADLINE_PASSED, type OutboundLimits } from './concurrency.ts';
import type { InstitutionReach } from './reach.ts';
import { institutionSuspended, type Registry } from './registry.ts';

export interface CodeServiceOptions {
  store: CoreStore;
  registry: Registry;
  cipher: CodeCipher;
  clock: Clock;
  logger: Logger;
  /** A client for an institution's network side (`networkApi`), over the core's transport. */
  reach: InstitutionReach;
  /** The core's bounds on calls to institutions, shared with the inquiries' forwards and deliveries. */
  outbound: OutboundLimits;
  /** How long a delivery may wait for a free slot of its institution (the caller waits meanwhile). */
  queueTimeoutMs: number;
  /** Told when the portal (an institution of kind `portal`) is issued its code for a person. */
  onPortalCode?: (residentKey: string, portalId: string) => Promise<unknown>;
}

export class CodeService {
  constructor(private readonly options: CodeServiceOptions) {}

  /**
   * Issue a person's code to an institution and deliver it there.
   *
   * Errors: ERR_UNKNOWN_INSTITUTION; ERR_INSTITUTION_SUSPENDED; ERR_UPSTREAM_UNAVAILABLE when the institution cannot be reached
   * (or its calls are all taken past `queueTimeoutMs`);
   * the institution's own error code when it refuses the delivery (e.g. ERR_UNKNOWN_ACQUISITION_NUMBER).
   */
  async issueCode(request: CodeIssuanceRequest): Promise<CodeIssued> {
    const institution = await this.options.registry.get(request.institutionId);
    // Refused, not held: an issuance answers an acquisition the institution's clerk is waiting on
    // (through J-LIS); it acquires again once reinstated.
    if (institution.suspended) throw institutionSuspended(institution.id, 'institution');
    const residentKey = this.options.cipher.residentKey(request.residentRecordCode);
    const linkingCode = await this.linkingCodeFor(residentKey);
    const delivery: CodeDelivery = {
      acquisitionNumber: request.acquisitionNumber,
      personCode: this.options.cipher.encode(institution.id, institution.keyVersion, linkingCode),
    };
    const { outbound, queueTimeoutMs } = this.options;
    const sent = await outbound.run(
      institution.id,
      () => this.options.reach(institution).deliverCode({ body: delivery }),
      Date.now() + queueTimeoutMs,
    );
    if (sent === QUEUE_DEADLINE_PASSED) {
      throw new RenkeiError('ERR_UPSTREAM_UNAVAILABLE', `Institution ${institution.id} is busy; try again.`, {
        peer: `institution ${institution.id}`,
        cause: 'busy',
      });
    }
    // The institution holds the person now: J-LIS will ask who to tell of a change (resident-notices.ts).
    await this.options.store.recordCodeHolder(
      residentKey,
      institution.id,
      this.options.clock.now().toISOString(),
    );
    if (institution.kind === 'portal') await this.options.onPortalCode?.(residentKey, institution.id);
    this.options.logger.debug({ institutionId: institution.id }, 'code delivered');
    return { acquisitionNumber: request.acquisitionNumber, status: 'delivered' };
  }

  /**
   * The same persons' codes under the institution's current key version, for an institution re-keying
   * its table after a rotation. Accepts codes of any earlier version of that institution.
   *
   * Errors: ERR_UNKNOWN_INSTITUTION; ERR_VALIDATION for more than 1000 codes.
   */
  async reissueCodes(institutionId: string, personCodes: readonly string[]): Promise<CodeReissueAnswer> {
    const institution = await this.options.registry.get(institutionId);
    const { cipher } = this.options;
    const window = { current: institution.keyVersion, previous: institution.keyVersion - 1 };
    return {
      institutionId,
      keyVersion: institution.keyVersion,
      personCodes: cipher
        .convertMany(institutionId, window, personCodes, institutionId, institution.keyVersion)
        .map((code) => code ?? null),
    };
  }

  /**
   * The institution has reissued every code it holds under `keyVersion`: record it, so that its key
   * may rotate again and providers stop being sent the previous version of each code.
   *
   * Errors: ERR_UNKNOWN_INSTITUTION; ERR_KEY_VERSION_CHANGED (rotated meanwhile: reissue again).
   */
  async completeReissue(completion: CodeReissueCompletion): Promise<{
    institutionId: string;
    keyVersion: number;
    rekeyedVersion: number;
  }> {
    const { registry, logger } = this.options;
    const before = await registry.get(completion.institutionId);
    const institution = await registry.confirmRekeyed(completion.institutionId, completion.keyVersion);
    if (before.rekeyedVersion !== institution.rekeyedVersion) {
      logger.info(
        { institutionId: institution.id, keyVersion: institution.keyVersion },
        'institution re-keyed its codes',
      );
    }
    return {
      institutionId: institution.id,
      keyVersion: institution.keyVersion,
      rekeyedVersion: institution.rekeyedVersion,
    };
  }

  /**
   * Find or create the person's linking code. Race-safe: two issuances for one new person may both
   * try to insert; the unique key lets one win, and both read the winner's code back.
   */
  private async linkingCodeFor(residentKey: string): Promise<Uint8Array> {
    const { store, clock } = this.options;
    let stored = await store.findLinkingCode(residentKey);
    if (stored === undefined) {
      const fresh = randomBytes(LINKING_CODE_BYTES).toString('base64url');
      await store.insertLinkingCodeIfAbsent(residentKey, fresh, clock.now().toISOString());
      stored = await store.findLinkingCode(residentKey);
      if (stored === undefined) throw new Error('linking code vanished after insert');
    }
    return new Uint8Array(Buffer.from(stored, 'base64url'));
  }
}
