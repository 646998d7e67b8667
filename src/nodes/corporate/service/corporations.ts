/**
 * The corporate-number service (法人番号, run by the National Tax Agency): designation, changes with
 * history, closure, and the public lookups — by number, by name (partial, kana-insensitive), by
 * change date — and the pages the full download is written from.
 */
import {
  type Corporation,
  type CorporationChange,
  type CorporationEntry,
  type Designation,
} from '../../../domain/corporations/corporation.ts';
import { searchKey } from '../../../domain/corporations/search-key.ts';
import {
  completeCorporateNumber,
  parseCorporateNumber,
  type CorporateNumber,
} from '../../../domain/identifiers/corporate-number.ts';
import { jstDate, type Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { CorporateStore, NewEntry } from '../store.ts';

/**
 * The first base of the service's own series, for bodies that have neither a registry number nor a
 * local-government code (人格のない社団等). The NTA's own numbering of such bodies is not in the
 * seeds; we start ours at 7000 0000 0000, where no 会社法人等番号 (registry office codes 0100–5000
 * in its first four digits) and no national organ or local government (0000…) can fall.
 */
export const OWN_SERIES_FIRST_BASE = 700_000_000_000;

export const SEARCH_LIMIT_MAX = 1_000;

export interface CorporateServiceDeps {
  store: CorporateStore;
  clock: Clock;
  logger: Logger;
}

export class CorporateNumberService {
  constructor(private readonly deps: CorporateServiceDeps) {}

  /**
   * Designate a Corporate Number (法人番号の指定). Errors: ERR_DUPLICATE (the number is designated
   * already: a body is designated once), ERR_VALIDATION (a date in the future).
   */
  async designate(input: Designation): Promise<Corporation> {
    const today = this.today();
    const changeDate = input.changeDate ?? today;
    this.notFuture(changeDate, 'changeDate');
    const base =
      input.base ??
      (input.localGovernmentCode === undefined
        ? await this.deps.store.nextBase(OWN_SERIES_FIRST_BASE)
        : `000020${input.localGovernmentCode}`);
    const corporateNumber = completeCorporateNumber(base);
    const entry: NewEntry = {
      corporateNumber,
      process: '01',
      correction: false,
      updateDate: today,
      changeDate,
      name: input.name,
      ...(input.furigana === undefined ? {} : { furigana: input.furigana }),
      ...(input.enName === undefined ? {} : { enName: input.enName }),
      kind: input.kind,
      location: input.location,
      assignmentDate: today,
    };
    const appended = await this.deps.store.append(entry, keyOf(entry), true);
    if (appended === 'exists') {
      throw new RenkeiError(
        'ERR_DUPLICATE',
        `Corporate Number ${corporateNumber} is designated already; a body is designated once. Record a change instead.`,
        { corporateNumber },
      );
    }
    this.deps.logger.info({ corporateNumber, kind: input.kind }, 'corporate number designated');
    return appended;
  }

  /**
   * Record a change: name (11), address (12), closure (21) or reopening (22), effective on
   * `changeDate`. Errors: ERR_UNKNOWN_CORPORATION, ERR_CORPORATION_STATE (a change to a closed
   * corporation other than reopening it; reopening one that is open; closing one in its own favour),
   * ERR_VALIDATION (a change date in the future or before the last change).
   */
  async change(corporateNumber: CorporateNumber, change: CorporationChange): Promise<Corporation> {
    const current = await this.find(corporateNumber);
    const today = this.today();
    this.notFuture(change.changeDate, 'changeDate');
    if (change.changeDate < current.changeDate && change.correction !== true) {
      throw new RenkeiError(
        'ERR_VALIDATION',
        `The change date ${change.changeDate} is before the last change (${current.changeDate}); a correction says so with correction: true.`,
        { issues: [{ path: 'changeDate', message: 'before the last change' }] },
      );
    }
    const closed = current.closeDate !== undefined;
    if (closed && change.process !== '22') {
      throw new RenkeiError(
        'ERR_CORPORATION_STATE',
        `Corporation ${corporateNumber} is closed (${current.closeDate}); reopen it (process 22) before changing it.`,
        { corporateNumber },
      );
    }
    if (!closed && change.process === '22') {
      throw new RenkeiError('ERR_CORPORATION_STATE', `Corporation ${corporateNumber} is not closed.`, {
        corporateNumber,
      });
    }
    const { sequenceNumber: _s, latest: _l, ...base } = current;
    let entry: NewEntry = {
      ...base,
      process: change.process,
      correction: change.correction ?? false,
      updateDate: today,
      changeDate: change.changeDate,
    };
    switch (change.process) {
      case '11': {
        const { furigana: _f, enName: _e, ...rest } = entry;
        entry = {
          ...rest,
          name: change.name,
          ...(change.furigana === undefined ? {} : { furigana: change.furigana }),
          ...(change.enName === undefined ? {} : { enName: change.enName }),
        };
        break;
      }
      case '12':
        entry = { ...entry, location: change.location };
        break;
      case '21':
        if (change.successorCorporateNumber === corporateNumber) {
          throw new RenkeiError('ERR_CORPORATION_STATE', 'A corporation cannot succeed itself.', {
            corporateNumber,
          });
        }
        if (change.successorCorporateNumber !== undefined) await this.find(change.successorCorporateNumber);
        entry = {
          ...entry,
          closeDate: change.changeDate,
          closeCause: change.closeCause,
          ...(change.successorCorporateNumber === undefined
            ? {}
            : { successorCorporateNumber: change.successorCorporateNumber }),
        };
        break;
      case '22': {
        const { closeDate: _d, closeCause: _c, successorCorporateNumber: _n, ...open } = entry;
        entry = open;
        break;
      }
    }
    const appended = await this.deps.store.append(entry, keyOf(entry), false);
    if (appended === 'exists') throw new Error('unreachable: a change is never a designation');
    this.deps.logger.info({ corporateNumber, process: change.process }, 'corporation changed');
    return appended;
  }

  /** A corporation as it stands, with its history when asked. Errors: ERR_UNKNOWN_CORPORATION. */
  async show(number: string, withHistory = false): Promise<Corporation> {
    const corporateNumber = parseCorporateNumber(number);
    const current = await this.find(corporateNumber);
    return withHistory ? { ...current, history: await this.deps.store.history(corporateNumber) } : current;
  }

  /**
   * Corporations by name (partial, kana-insensitive: `searchKey`), kind and prefecture, open ones
   * unless `includeClosed`, in number order; `next` is the cursor of the next page.
   */
  async search(query: {
    name?: string;
    kind?: string;
    prefectureCode?: string;
    includeClosed?: boolean;
    after?: string;
    limit?: number;
  }): Promise<{ corporations: CorporationEntry[]; next?: string }> {
    const limit = Math.min(query.limit ?? 100, SEARCH_LIMIT_MAX);
    const key = query.name === undefined ? undefined : searchKey(query.name);
    const rows = await this.deps.store.search({
      ...(key === undefined ? {} : { key }),
      ...(query.kind === undefined ? {} : { kind: query.kind }),
      ...(query.prefectureCode === undefined ? {} : { prefectureCode: query.prefectureCode }),
      includeClosed: query.includeClosed ?? false,
      ...(query.after === undefined ? {} : { after: query.after }),
      limit: limit + 1,
    });
    const page = rows.slice(0, limit);
    return rows.length > limit
      ? { corporations: page, next: page.at(-1)?.corporateNumber }
      : { corporations: page };
  }

  /** History entries whose change date is in [from, to], in sequence order (the difference file). */
  async changes(query: {
    from: string;
    to: string;
    after?: number;
    limit?: number;
  }): Promise<{ entries: CorporationEntry[]; next?: number }> {
    if (query.to < query.from) {
      throw new RenkeiError(
        'ERR_VALIDATION',
        `The period ends (${query.to}) before it starts (${query.from}).`,
        {
          issues: [{ path: 'to', message: 'before from' }],
        },
      );
    }
    const limit = Math.min(query.limit ?? 100, SEARCH_LIMIT_MAX);
    const rows = await this.deps.store.changes(query.from, query.to, query.after, limit + 1);
    const entries = rows.slice(0, limit);
    return rows.length > limit ? { entries, next: entries.at(-1)?.sequenceNumber } : { entries };
  }

  count(): Promise<number> {
    return this.deps.store.count();
  }

  private async find(corporateNumber: CorporateNumber): Promise<CorporationEntry> {
    const found = await this.deps.store.latest(corporateNumber);
    if (!found) {
      throw new RenkeiError(
        'ERR_UNKNOWN_CORPORATION',
        `No corporation has Corporate Number ${corporateNumber}.`,
        { corporateNumber },
      );
    }
    return found;
  }

  /** Today in Japan: the NTA's dates are Japanese calendar days. */
  private today(): string {
    return jstDate(this.deps.clock.now());
  }

  private notFuture(date: string, path: string): void {
    if (date > this.today()) {
      throw new RenkeiError('ERR_VALIDATION', `The ${path} ${date} is in the future.`, {
        issues: [{ path, message: 'must not be in the future' }],
      });
    }
  }
}

/** What a search matches against: name, フリガナ and English name, each as its search key. */
function keyOf(entry: NewEntry): string {
  return [entry.name, entry.furigana, entry.enName]
    .filter((part): part is string => part !== undefined)
    .map(searchKey)
    .join('\u0001');
}
