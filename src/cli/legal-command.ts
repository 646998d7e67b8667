import { resolve } from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_LEGAL_DIR, loadLegalTable, type LegalTable } from '../domain/legal-table/index.ts';
import { RenkeiError } from '../shared/errors.ts';
import { table } from './output.ts';

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
