import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import {
  DEFAULT_LEGAL_DIR,
  diffLegalTables,
  formatLegalTableDiff,
  legalTableFromFiles,
  loadLegalTable,
  readLegalFiles,
  type LegalTable,
} from '../domain/legal-table/index.ts';
import { LegalVersionLoad, type LegalVersionView } from '../protocol/admin.ts';
import type { Client } from '../protocol/api.ts';
import { adminApi } from '../protocol/routes.ts';
import { RenkeiError } from '../shared/errors.ts';
import { parseInput } from '../shared/http.ts';
import { connectNode, nodeUrlOption } from './nodes.ts';
import { table, type GlobalOptions } from './output.ts';

/**
 * `renkei legal check [--dir <dir>]` and `renkei legal procedures [--clause <no>] [--dir <dir>]`: the
 * network operator's view of the legal table (別表第二), its procedures and its data layouts.
 *
 * `check` loads and validates the whole table as the core does at start-up, and prints what it holds
 * and the digest the provision records will carry; run it before deploying an edited `legal/`. A
 * broken file fails with ERR_CONFIG_INVALID naming the file, the entry and the problem (printed by
 * `main.ts` as `ERR_CONFIG_INVALID: <message>`, exit code 1).
 *
 * `procedures` lists the procedures (事務手続) with the attachments each makes unnecessary; with
 * `--clause`, those under one clause (`074` is read as `74`; ERR_UNKNOWN_CLAUSE, saying how to list the
 * clauses, if the table has no such clause).
 */
export function registerLegalCommand(program: Command): void {
  const legal = program
    .command('legal')
    .description('check and list the legal table (別表第二): clauses, procedures, items, data layouts');

  legal
    .command('check')
    .description('load and validate legal/*.yaml as the core would, and print counts and the digest')
    .option(
      '--dir <dir>',
      'the directory holding clauses.yaml, procedures.yaml and items.yaml',
      DEFAULT_LEGAL_DIR,
    )
    .action((options: { dir: string }) => {
      const dir = resolve(options.dir);
      const legalTable = loadLegalTable(dir);
      console.log(`Legal table in ${dir} is valid.`);
      console.log(summaryTable(legalTable));
      console.log(`Digest (sha-256): ${legalTable.digest}`);
      // Valid, but probably not what the editor meant: shown, not refused, so staged edits still load.
      if (legalTable.warnings.length > 0) {
        console.log(NOTES_HEADING);
        for (const warning of legalTable.warnings) console.log(`  - ${warning}`);
      }
    });

  legal
    .command('procedures')
    .description('list the procedures (事務手続) and the attachments (添付書類) each makes unnecessary')
    .option('--clause <no>', 'only the procedures under this clause (項), e.g. 74')
    .option(
      '--dir <dir>',
      'the directory holding clauses.yaml, procedures.yaml and items.yaml',
      DEFAULT_LEGAL_DIR,
    )
    .action((options: { clause?: string; dir: string }) => {
      const legalTable = loadLegalTable(resolve(options.dir));
      const clauseNo = options.clause === undefined ? undefined : normaliseClauseNo(options.clause);
      if (clauseNo !== undefined && !legalTable.findClause(clauseNo)) {
        throw new RenkeiError(
          'ERR_UNKNOWN_CLAUSE',
          `The legal table has no clause ${clauseNo}; \`renkei legal procedures\` without --clause lists every procedure with its clause.`,
          { clauseNo },
        );
      }
      const procedures = legalTable.procedures
        .filter((p) => clauseNo === undefined || p.clauseNo === clauseNo)
        .toSorted((a, b) => a.procedureId.localeCompare(b.procedureId));
      console.log(
        table(
          ['id', 'clause', 'name', 'applied to', 'items', 'attachments omitted', 'modelled'],
          procedures.map((p) => [
            p.procedureId,
            p.clauseNo,
            p.name,
            p.appliedTo,
            p.itemNos.map((n) => `[${n}]`).join(' '),
            [
              ...p.attachmentsOmitted.map((a) => `${a.name} ← ${a.itemNos.map((n) => `[${n}]`).join(' ')}`),
              ...p.itemNosWithoutAttachment.map((n) => `(none) ← [${n}]`),
            ].join('\n'),
            p.modelled ? 'yes' : 'no',
          ]),
        ),
      );
      console.log(`${procedures.length} procedure${procedures.length === 1 ? '' : 's'}.`);
    });

  registerLegalVersionCommands(program, legal);
}

/**
 * `renkei legal load --core-url <url> [--dir legal] --effective-from <day>` (role `operator:legal`):
 * send a version to the core, which validates it whole and keeps it to take effect on that JST day.
 * `renkei legal versions --core-url <url>`: the versions the core keeps. `renkei legal diff <a> <b>
 * [--core-url <url>]`: what changed from a to b, each a directory or a digest the core keeps.
 *
 * Errors: ERR_LEGAL_TABLE_INVALID (the core's refusal: file, entry, problem), ERR_CONFIG_INVALID (a
 * directory's files, before anything is sent), ERR_VALIDATION (a past day, a bad URL),
 * ERR_UNKNOWN_LEGAL_VERSION, ERR_CALLER_NOT_ALLOWED, ERR_UPSTREAM_UNAVAILABLE.
 */
function registerLegalVersionCommands(program: Command, legal: Command): void {
  const connect = (coreUrl: string) =>
    connectNode(nodeUrlOption(coreUrl, 'core'), 'core', adminApi, {
      dataDir: program.opts<GlobalOptions>().dataDir,
      timeoutMs: 60_000,
    });

  legal
    .command('load')
    .description(
      'send a version of legal/ to the core, to take effect on a day (validated before it is kept)',
    )
    .requiredOption('--core-url <url>', "the core's base URL, e.g. https://127.0.0.1:7100")
    .requiredOption('--effective-from <day>', 'the JST day it takes effect, today or later (YYYY-MM-DD)')
    .option(
      '--dir <dir>',
      'the directory holding clauses.yaml, procedures.yaml and items.yaml',
      DEFAULT_LEGAL_DIR,
    )
    .action(async (options: { coreUrl: string; effectiveFrom: string; dir: string }) => {
      const files = readLegalFiles(resolve(options.dir));
      // Checked here too, so that a broken edit is named before anything is sent.
      legalTableFromFiles(files);
      const body = parseInput(
        LegalVersionLoad,
        { effectiveFrom: options.effectiveFrom, files },
        '--effective-from',
      );
      const core = await connect(options.coreUrl);
      const { version, stored } = await core.loadLegalVersion({ body });
      console.log(
        stored
          ? `Version ${version.digest} kept; it takes effect on ${version.effectiveFrom} (JST).`
          : `Version ${version.digest} was already kept for ${version.effectiveFrom}; nothing changed.`,
      );
      console.log(versionsTable([version]));
      if (version.warnings.length > 0) {
        console.log(NOTES_HEADING);
        for (const warning of version.warnings) console.log(`  - ${warning}`);
      }
    });

  legal
    .command('versions')
    .description('the versions of the legal table the core keeps, with the day each takes effect')
    .requiredOption('--core-url <url>', "the core's base URL")
    .action(async (options: { coreUrl: string }) => {
      const core = await connect(options.coreUrl);
      const { versions } = await core.listLegalVersions();
      console.log(versionsTable(versions));
    });

  legal
    .command('diff <a> <b>')
    .description('what changed from version a to b: each a directory like legal/ or a digest the core keeps')
    .option('--core-url <url>', "the core's base URL (for digests)")
    .action(async (a: string, b: string, options: { coreUrl?: string }) => {
      let core: Client<typeof adminApi> | undefined;
      const tableOf = async (ref: string): Promise<LegalTable> => {
        if (existsSync(ref) && statSync(ref).isDirectory()) return loadLegalTable(resolve(ref));
        if (!/^[0-9a-f]{6,64}$/.test(ref)) {
          throw new RenkeiError(
            'ERR_VALIDATION',
            `${ref} is neither a directory nor a digest (hex) of a version.`,
          );
        }
        if (options.coreUrl === undefined) {
          throw new RenkeiError(
            'ERR_VALIDATION',
            `Give --core-url to compare the version ${ref} the core keeps.`,
          );
        }
        core ??= await connect(options.coreUrl);
        const digest = await fullDigest(core, ref);
        const { files } = await core.getLegalVersion({ params: { digest } });
        return legalTableFromFiles(files);
      };
      const [from, to] = [await tableOf(a), await tableOf(b)];
      process.stdout.write(formatLegalTableDiff(diffLegalTables(from, to)));
    });
}

/** A digest as typed: whole, or a prefix of one version's (as `renkei legal versions` shows them). */
async function fullDigest(core: Client<typeof adminApi>, ref: string): Promise<string> {
  if (ref.length === 64) return ref;
  const { versions } = await core.listLegalVersions();
  const matches = [...new Set(versions.map((v) => v.digest).filter((d) => d.startsWith(ref)))];
  if (matches.length !== 1) {
    throw new RenkeiError(
      matches.length === 0 ? 'ERR_UNKNOWN_LEGAL_VERSION' : 'ERR_VALIDATION',
      matches.length === 0
        ? `The core keeps no version whose digest starts ${ref}; \`renkei legal versions\` lists them.`
        : `Several versions' digests start ${ref}; give more of it.`,
    );
  }
  return matches[0] ?? ref;
}

const STATUS: Record<LegalVersionView['status'], string> = {
  in_force: 'in force',
  scheduled: 'scheduled',
  superseded: 'superseded',
};

function versionsTable(versions: readonly LegalVersionView[]): string {
  return table(
    [
      'effective from (JST)',
      'status',
      'digest',
      'clauses',
      'procedures',
      'items',
      'notes',
      'loaded at',
      'by',
    ],
    versions.map((v) => [
      v.effectiveFrom,
      STATUS[v.status],
      v.digest.slice(0, 16),
      v.counts.clauses,
      v.counts.procedures,
      v.counts.items,
      v.warnings.length,
      v.loadedAt,
      v.loadedBy,
    ]),
  );
}

/** The heading `legal check` prints above the legal table's warnings. */
export const NOTES_HEADING = 'Notes (valid, but probably not intended):';

/**
 * A clause number as typed, as the legal table writes it: `074` → `74`, `74-02` → `74-2`. Text that
 * is not a clause number at all is returned trimmed, for the caller to report as unknown.
 */
export function normaliseClauseNo(text: string): string {
  const trimmed = text.trim();
  const match = /^([0-9]+)(?:-([0-9]+))?$/.exec(trimmed);
  if (!match) return trimmed;
  const [, clause = '', branch] = match;
  const strip = (digits: string) => digits.replace(/^0+(?=[0-9])/, '');
  return branch === undefined ? strip(clause) : `${strip(clause)}-${strip(branch)}`;
}

function summaryTable(legalTable: LegalTable): string {
  const layouts = legalTable.items.flatMap((item) => item.layouts);
  const modelled = (entries: readonly { modelled: boolean }[]) => entries.filter((e) => e.modelled).length;
  return table(
    ['', 'count', 'modelled'],
    [
      ['clauses (項)', legalTable.clauses.length, modelled(legalTable.clauses)],
      ['procedures (事務手続)', legalTable.procedures.length, modelled(legalTable.procedures)],
      ['items (特定個人情報)', legalTable.items.length, modelled(legalTable.items)],
      // The seeds give no layout's fields, so every layout version is modelled (see legal/items.yaml).
      ['layout versions (データ標準レイアウト)', layouts.length, layouts.length],
    ],
  );
}
