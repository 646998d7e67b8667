/**
 * Versions of the legal table (別表第二, procedures, items and layouts) at the core: every version the
 * core has run or will run is kept in its database (the files' text, digest, the JST day it takes
 * effect, who loaded it and when), and an inquiry is decided under the version in force on its day.
 * The provision record carries that version's digest, so an auditor can fetch the very files that
 * decided it (`GET /admin/v1/legal-versions/:digest`).
 *
 * In force on a day: the version with the latest `effectiveFrom` on or before that day; of several
 * for one day, the one loaded last. Before the first version's day, the first version (a core's
 * clock set before the table's start should not decide under nothing).
 *
 * Two ways in:
 * - `load`, the operator's `POST /admin/v1/legal-versions`: the files are validated in full by the
 *   loader that start-up uses, before anything is stored, and refused with its error otherwise; the day
 *   may not be in the past (a version cannot rewrite what was decided), today takes effect at once.
 * - at start (`open`), the files the core was started with (`legal/`): stored if their digest is not,
 *   from today, so that editing `legal/` and restarting still works as before; on an empty database,
 *   from the table's first clause's day, as the base version. A start with files already stored
 *   changes nothing: a version loaded for a later day still takes effect on its day.
 *
 * Several core processes over one database each keep the versions in memory and read them again
 * every `refreshMs` (default 30 s), and at once after their own load. We considered reading the
 * store on every inquiry: a query on the hot path for a table that changes a few times a year.
 */
import { diffLegalTables, type LegalTableDiff } from '../../../domain/legal-table/diff.ts';
import { legalTableFromFiles } from '../../../domain/legal-table/load.ts';
import type { LegalTable } from '../../../domain/legal-table/types.ts';
import type { LegalVersionLoad, LegalVersionView } from '../../../protocol/admin.ts';
import { jstDate, type Clock } from '../../../shared/clock.ts';
import { RenkeiError } from '../../../shared/errors.ts';
import type { Logger } from '../../../shared/logger.ts';
import type { CoreStore, StoredLegalVersion } from '../store.ts';

/** What the services that decide or name things ask: the table in force at an instant. */
export interface LegalTableInForce {
  tableOn(at: Date): LegalTable;
}

export interface LegalVersionServiceOptions {
  store: CoreStore;
  clock: Clock;
  logger: Logger;
  /** The table the core was started with: the version used until `open`, and stored by it. */
  startTable: LegalTable;
  refreshMs?: number;
}

interface Version {
  stored: StoredLegalVersion | undefined;
  table: LegalTable;
}

export class LegalVersionService implements LegalTableInForce {
  /** By `effectiveFrom`, then load time; never empty. */
  private versions: Version[];
  private readonly tables = new Map<string, LegalTable>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: LegalVersionServiceOptions) {
    this.versions = [{ stored: undefined, table: options.startTable }];
    this.tables.set(options.startTable.digest, options.startTable);
  }

  /**
   * Read the stored versions, store the start table's if new (see the file's comment), and keep
   * them fresh. A stored version that no longer loads (a loader made stricter since) is a start-up
   * error naming it: deciding under a table that cannot be read would be worse.
   */
  async open(): Promise<void> {
    const { store, startTable, clock } = this.options;
    const stored = await store.listLegalVersions();
    if (startTable.files && !stored.some((v) => v.digest === startTable.digest)) {
      const effectiveFrom =
        stored.length === 0
          ? startTable.clauses
              .map((c) => c.effectiveFrom)
              .reduce((a, b) => (a < b ? a : b), jstDate(clock.now()))
          : jstDate(clock.now());
      await store.insertLegalVersion({
        digest: startTable.digest,
        effectiveFrom,
        loadedAt: clock.now().toISOString(),
        loadedBy: 'start',
        files: { ...startTable.files },
      });
      this.options.logger.info(
        { legalTableDigest: startTable.digest, effectiveFrom },
        'legal table version stored from the files the core started with',
      );
    }
    await this.refresh();
    const refreshMs = this.options.refreshMs ?? 30_000;
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) =>
        this.options.logger.warn({ err: error }, 'legal table versions could not be read again'),
      );
    }, refreshMs);
    this.timer.unref();
  }

  /** Read the stored versions again (new ones are parsed once: tables are kept by digest). */
  async refresh(): Promise<void> {
    const stored = await this.options.store.listLegalVersions();
    if (stored.length === 0) return;
    this.versions = stored.map((v) => ({ stored: v, table: this.tableOf(v) }));
  }

  close(): void {
    clearInterval(this.timer);
  }

  tableOn(at: Date): LegalTable {
    return this.versionOn(jstDate(at)).table;
  }

  private versionOn(day: string): Version {
    let found = this.versions[0];
    for (const version of this.versions) {
      if ((version.stored?.effectiveFrom ?? '') <= day) found = version;
      else break;
    }
    if (!found) throw new TypeError('no legal table version');
    return found;
  }

  private tableOf(version: StoredLegalVersion): LegalTable {
    let table = this.tables.get(version.digest);
    if (!table) {
      table = legalTableFromFiles(version.files);
      this.tables.set(version.digest, table);
    }
    return table;
  }

  /**
   * Validate a version as `load` does, storing nothing: its table and digest, the version it would
   * follow on its day (the one in force then today), and what changes from that one. The console
   * shows this before the operator confirms the load.
   *
   * @throws RenkeiError ERR_VALIDATION (a day in the past), ERR_LEGAL_TABLE_INVALID (the loader's
   *   error, naming file, entry and problem).
   */
  check(request: LegalVersionLoad): {
    table: LegalTable;
    digest: string;
    follows: LegalVersionView;
    diff: LegalTableDiff;
  } {
    const today = jstDate(this.options.clock.now());
    if (request.effectiveFrom < today) {
      throw new RenkeiError(
        'ERR_VALIDATION',
        `effectiveFrom ${request.effectiveFrom} is in the past (today is ${today} in Japan); a version takes effect today or later.`,
        { field: 'effectiveFrom' },
      );
    }
    let table: LegalTable;
    try {
      table = legalTableFromFiles(request.files);
    } catch (error) {
      if (error instanceof RenkeiError && error.code === 'ERR_CONFIG_INVALID') {
        throw new RenkeiError('ERR_LEGAL_TABLE_INVALID', error.message, error.details);
      }
      throw error;
    }
    const follows = this.versionOn(request.effectiveFrom);
    return {
      table,
      digest: table.digest,
      follows: this.view(follows, today),
      diff: diffLegalTables(follows.table, table),
    };
  }

  /**
   * Validate and store a version to take effect on `effectiveFrom` (a JST day, today or later).
   *
   * Both outcomes are logged with who and the day.
   *
   * @throws RenkeiError ERR_VALIDATION (a day in the past), ERR_LEGAL_TABLE_INVALID (the loader's
   *   error, naming file, entry and problem; nothing stored).
   */
  async load(
    request: LegalVersionLoad,
    loadedBy: string,
  ): Promise<{ version: LegalVersionView; stored: boolean }> {
    let checked: ReturnType<LegalVersionService['check']>;
    try {
      checked = this.check(request);
    } catch (error) {
      // A refusal is logged like a load: who, for which day, and the stable code (the loader's
      // message names only the files' entries).
      this.options.logger.warn(
        {
          effectiveFrom: request.effectiveFrom,
          loadedBy,
          code: error instanceof RenkeiError ? error.code : 'ERR_INTERNAL',
        },
        'legal table version refused',
      );
      throw error;
    }
    const { table, digest } = checked;
    const now = this.options.clock.now();
    const version: StoredLegalVersion = {
      digest,
      effectiveFrom: request.effectiveFrom,
      loadedAt: now.toISOString(),
      loadedBy,
      files: request.files,
    };
    this.tables.set(version.digest, table);
    const stored = await this.options.store.insertLegalVersion(version);
    await this.refresh();
    const kept = this.versions.find(
      (v) => v.stored?.digest === version.digest && v.stored.effectiveFrom === version.effectiveFrom,
    );
    this.options.logger.info(
      { legalTableDigest: digest, effectiveFrom: request.effectiveFrom, loadedBy, stored },
      'legal table version loaded',
    );
    return { version: this.view(kept ?? { stored: version, table }, jstDate(now)), stored };
  }

  /** Every version, by day; `status` as of today (JST). */
  list(): LegalVersionView[] {
    const today = jstDate(this.options.clock.now());
    return this.versions.map((v) => this.view(v, today));
  }

  /** A stored version by digest (its newest load), with its table and files. */
  find(
    digest: string,
  ): { version: LegalVersionView; table: LegalTable; files: StoredLegalVersion['files'] } | undefined {
    const today = jstDate(this.options.clock.now());
    const found = this.versions.findLast((v) => v.stored?.digest === digest);
    if (!found?.stored) return undefined;
    return { version: this.view(found, today), table: found.table, files: found.stored.files };
  }

  /** @throws RenkeiError ERR_UNKNOWN_LEGAL_VERSION */
  get(digest: string): NonNullable<ReturnType<LegalVersionService['find']>> {
    const found = this.find(digest);
    if (!found) {
      throw new RenkeiError(
        'ERR_UNKNOWN_LEGAL_VERSION',
        'The core keeps no legal table version with that digest; `renkei legal versions` lists them.',
      );
    }
    return found;
  }

  /** What changed from one stored version to another. @throws RenkeiError ERR_UNKNOWN_LEGAL_VERSION */
  diff(fromDigest: string, toDigest: string): LegalTableDiff {
    return diffLegalTables(this.get(fromDigest).table, this.get(toDigest).table);
  }

  private view(version: Version, today: string): LegalVersionView {
    const { table, stored } = version;
    const inForce = this.versionOn(today);
    const effectiveFrom = stored?.effectiveFrom ?? '';
    return {
      digest: table.digest,
      effectiveFrom,
      loadedAt: stored?.loadedAt ?? new Date(0).toISOString(),
      loadedBy: stored?.loadedBy ?? 'start',
      status: inForce === version ? 'in_force' : effectiveFrom > today ? 'scheduled' : 'superseded',
      counts: {
        clauses: table.clauses.length,
        procedures: table.procedures.length,
        items: table.items.length,
      },
      warnings: [...table.warnings],
    };
  }
}
