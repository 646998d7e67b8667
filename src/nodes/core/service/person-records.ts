/**
 * The exchanges about one person (やりとり履歴) for the Myna Portal, and the lift of non-disclosure
 * (不開示の解除) by a record's requester.
 *
 * The portal is a party like an institution: it holds its own code for the person (issued through J-LIS
 * after the resident logged in), and the core opens it under the portal's key to the linking code,
 * whose keyed hash is the `personKey` every record about the person carries. No table of persons is
 * read, and no code is stored.
 *
 * Each record comes with its events' leaves and their inclusion proofs against one signed tree head, so
 * that the resident's browser can check that the record is in the log the core signed
 * (src/trust/merkle/web-verify.ts). When the latest head does not cover the page's events, the core
 * signs one now rather than answering proofs that cannot be checked: at most one signature per lookup,
 * and only when the log grew. We considered proofs against an unsigned current root, but then nothing
 * would stop the core from answering a different tree to each resident.
 *
 * Non-disclosure: a record under it is not in any page, by the store's query (never filtered after
 * reading, which would shorten a page and betray it), and nothing counts records. The cursor is the
 * last row shown (time and processing number), never an offset.
 */
import type {
  NonDisclosureLifted,
  PersonRecordPage,
  PersonRecordQuery,
} from '../../../protocol/person-records.ts';
import type { Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { ProvisionRecord } from '../model.ts';
import type { CoreStore } from '../store.ts';
import type { CodeCipher } from './code-cipher.ts';
import { INQUIRY_GRACE_VERSIONS } from './inquiries.ts';
import type { Registry } from './registry.ts';
import { recordsEvidence } from './record-evidence.ts';

export interface PersonRecordServiceOptions {
  store: CoreStore;
  registry: Registry;
  cipher: CodeCipher;
  clock: Clock;
  logger: Logger;
  /** Sign a head now if the log grew since the last (RecordLogService.signHead; a no-op without a key). */
  signHead(): Promise<void>;
}

const CURSOR = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)\|([0-9a-f-]{36})$/;

function cursorOf(record: ProvisionRecord): string {
  return Buffer.from(`${record.requestedAt}|${record.processingNumber}`, 'utf8').toString('base64url');
}

function readCursor(cursor: string): { requestedAt: string; processingNumber: string } {
  const match = CURSOR.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match?.[1] || !match[2]) {
    throw new RenkeiError(
      'ERR_VALIDATION',
      'The cursor is not one the core gave; start from the first page.',
    );
  }
  return { requestedAt: match[1], processingNumber: match[2] };
}

export class PersonRecordService {
  constructor(private readonly options: PersonRecordServiceOptions) {}

  /**
   * A page of the person's records, newest first. Errors: ERR_CALLER_NOT_ALLOWED (the caller is not a
   * portal in the registry), ERR_UNKNOWN_PERSON_CODE (not a code the core issued to this portal),
   * ERR_VALIDATION (a cursor the core did not make).
   */
  async list(query: PersonRecordQuery): Promise<PersonRecordPage> {
    const { store, registry } = this.options;
    const portal = await registry.find(query.portalId);
    // The route admits a portal certificate only; the registry must agree that this party is the
    // portal, since its codes (and so whose records it can read) are derived under its id.
    if (portal?.kind !== 'portal') {
      throw new RenkeiError('ERR_CALLER_NOT_ALLOWED', "Only the Myna Portal may read a person's records.");
    }
    const personKey = this.personKeyOf(portal, query.personCode);
    const before = query.cursor === undefined ? undefined : readCursor(query.cursor);
    const rows = await store.listPersonRecords(personKey, before, query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page[page.length - 1];
    const nextCursor = rows.length > query.limit && last ? cursorOf(last) : null;

    const { head, leaves: evidence } = await recordsEvidence(
      store,
      page.map((r) => r.processingNumber),
      () => this.options.signHead(),
    );
    // The resident reads names, not ids: the registry's, once per institution of the page.
    const names = new Map<string, { ja: string; en: string }>();
    for (const id of new Set(page.flatMap((r) => [r.requesterId, r.providerId]))) {
      const institution = await registry.find(id);
      names.set(id, { ja: institution?.name ?? id, en: institution?.nameEn ?? id });
    }
    return {
      records: page.map((r) => ({
        processingNumber: r.processingNumber,
        requestedAt: r.requestedAt,
        answeredAt: r.answeredAt,
        requesterId: r.requesterId,
        requesterName: names.get(r.requesterId)?.ja ?? r.requesterId,
        requesterNameEn: names.get(r.requesterId)?.en ?? r.requesterId,
        providerId: r.providerId,
        providerName: names.get(r.providerId)?.ja ?? r.providerId,
        providerNameEn: names.get(r.providerId)?.en ?? r.providerId,
        clauseNo: r.clauseNo,
        procedureId: r.procedureId,
        itemNos: r.itemNos,
        outcome: r.outcome,
        reason: r.reason,
        evidence: evidence.get(r.processingNumber) ?? [],
      })),
      treeHead: head === undefined ? null : { jws: head.jws, treeSize: head.treeSize, kid: head.kid },
      nextCursor,
    };
  }

  /**
   * The person key of the person an institution holds `personCode` for (its code, under its current
   * or previous key version): what the oversight console's per-resident view searches by, from the
   * code a complaint brings. Errors: ERR_UNKNOWN_INSTITUTION, ERR_UNKNOWN_PERSON_CODE (not a code
   * the core issued to that institution: never another person).
   */
  async personKeyOfInstitutionCode(institutionId: string, personCode: string): Promise<string> {
    return this.personKeyOf(await this.options.registry.get(institutionId), personCode);
  }

  private personKeyOf(holder: { id: string; keyVersion: number }, personCode: string): string {
    const { cipher } = this.options;
    const linkingCode = cipher.decode(holder.id, personCode, {
      current: holder.keyVersion,
      previous: INQUIRY_GRACE_VERSIONS,
    });
    if (!linkingCode) {
      throw new RenkeiError(
        'ERR_UNKNOWN_PERSON_CODE',
        `The person code is not one the core issued to ${holder.id}.`,
      );
    }
    return cipher.personKey(linkingCode);
  }

  /**
   * Lift the non-disclosure of one of the requester's records. Errors: ERR_UNKNOWN_PROCESSING_NUMBER
   * (no such record, or another institution's: the two answers are the same).
   */
  async lift(requesterId: string, processingNumber: string): Promise<NonDisclosureLifted> {
    const at = this.options.clock.now().toISOString();
    const result = await this.options.store.liftNonDisclosure(processingNumber, requesterId, at);
    if (result === 'unknown') {
      throw new RenkeiError(
        'ERR_UNKNOWN_PROCESSING_NUMBER',
        'No inquiry of this institution has that processing number.',
        {
          processingNumber,
        },
      );
    }
    if (result === 'lifted') {
      this.options.logger.info({ processingNumber, requesterId }, 'non-disclosure lifted');
    }
    return { processingNumber, lifted: result === 'lifted' };
  }
}
