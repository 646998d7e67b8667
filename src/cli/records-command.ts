import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import {
  isNetworkDataDir,
  showNetworkRecord,
  verifyNetworkRecords,
  type NetworkFinding,
  type PartyReport,
} from '../network/records.ts';
import { ProcessingNumber } from '../protocol/identifiers.ts';
import { businessApi } from '../protocol/routes.ts';
import { RenkeiError } from '../shared/errors.ts';
import {
  DATABASE_HELP,
  databaseOption,
  plural,
  table,
  wholeNumberOption,
  type GlobalOptions,
} from './output.ts';
import { connectNode, nodeUrlOption } from './nodes.ts';

/**
 * `renkei records lift-non-disclosure <processing number>` (at an institution, its IT staff or a clerk's
 * system): lift the non-disclosure (不開示) the institution asked for on one of its inquiries, through its
 * business API; the core records the lift and the resident then sees the record in the Myna Portal.
 *
 * `renkei records verify` and `renkei records show`: the provision records of a network, read from its
 * data directory (read-only; the nodes may be running or not). `verify` checks each party's records
 * against its Merkle log and signed tree heads, and the three parties' records of each exchange against
 * each other, prints a table per party and every finding in plain words, and exits 1 if there is any.
 * `show` prints one processing number's records at every party, with the events behind them.
 *
 * `--data-dir` names the network's directory; a directory `renkei demo` used is accepted as it is
 * (its network is in `<data-dir>/demo`).
 *
 * Errors: ERR_VALIDATION (no network in the directory, an unknown `--party`, a malformed processing
 * number or `--retention-years`).
 */
export function registerRecordsCommand(program: Command): void {
  const records = program
    .command('records')
    .description('verify and show the provision records of a network, from its data directory');

  records
    .command('verify')
    .description(
      "check every party's records against its Merkle log, its signed heads and the other parties'",
    )
    .option('--party <id>', 'check only this party (core, portal or an institution code) and its exchanges')
    .option('--retention-years <n>', 'how long records are kept (older ones may be purged)', '7')
    .option('--database <url>', DATABASE_HELP)
    .action(async (options: { party?: string; retentionYears: string; database?: string }) => {
      const database = databaseOption(options.database);
      const dataDir = networkDir(program.opts<GlobalOptions>().dataDir, database.postgres !== undefined);
      const retentionYears = wholeNumberOption(options.retentionYears, '--retention-years', 1, 100);
      const report = await verifyNetworkRecords({
        dataDir,
        retentionYears,
        ...database,
        ...(options.party === undefined ? {} : { party: options.party }),
      });
      console.log(`Provision records of the network in ${dataDir}\n`);
      console.log(
        table(
          ['party', 'events', 'records', 'signed heads', 'findings'],
          report.parties.map((p) => [
            p.party,
            p.purged > 0 ? `${p.events} (${p.purged} purged)` : p.events,
            p.records,
            headsCell(p),
            p.findings.length,
          ]),
        ),
      );
      console.log(
        `\nExchanges compared across parties: ${report.exchanges.checked}; ` +
          `disagreements: ${report.exchanges.findings.length}.`,
      );
      const findings = [...report.parties.flatMap((p) => p.findings), ...report.exchanges.findings];
      if (findings.length > 0) {
        console.log('\nFindings:');
        for (const f of findings) console.log(`  ${where(f)}: ${f.message}`);
      }
      const unsigned = report.parties.filter((p) => p.heads.status !== 'signed').map((p) => p.party);
      if (unsigned.length > 0) {
        console.log(
          `\nNot checked against signed heads (none stored, or no certificate to check them with): ` +
            `${unsigned.join(', ')}. Their records are checked against their stored hashes and the other parties' records only.`,
        );
      }
      console.log(
        findings.length === 0
          ? '\nEvery record verifies.'
          : `\n${plural(findings.length, 'finding')}: the records above were changed outside the nodes.`,
      );
      if (!report.ok) process.exitCode = 1;
    });

  records
    .command('lift-non-disclosure <processingNumber>')
    .description(
      "lift the non-disclosure (不開示) of one of an institution's inquiries: the resident then sees it in the Myna Portal",
    )
    .requiredOption('--institution-url <url>', "the institution node's base URL, e.g. https://127.0.0.1:7111")
    .action(async (processingNumber: string, options: { institutionUrl: string }) => {
      const parsed = ProcessingNumber.safeParse(processingNumber);
      if (!parsed.success) {
        throw new RenkeiError('ERR_VALIDATION', 'A processing number is a UUID, e.g. 0190f5a2-….');
      }
      const institution = await connectNode(
        nodeUrlOption(options.institutionUrl, 'institution'),
        'institution',
        businessApi,
        { dataDir: program.opts<GlobalOptions>().dataDir },
      );
      const { lifted } = await institution.liftNonDisclosure({ body: { processingNumber: parsed.data } });
      console.log(
        lifted
          ? `Non-disclosure of ${parsed.data} lifted: the resident now sees it in the Myna Portal.`
          : `${parsed.data} was not under non-disclosure: nothing changed.`,
      );
    });

  records
    .command('show <processingNumber>')
    .description('print the records of one exchange at every party, with their logged events')
    .option('--database <url>', DATABASE_HELP)
    .action(async (processingNumber: string, options: { database?: string }) => {
      const database = databaseOption(options.database);
      const parsed = ProcessingNumber.safeParse(processingNumber);
      if (!parsed.success) {
        throw new RenkeiError('ERR_VALIDATION', 'A processing number is a UUID, e.g. 0190f5a2-….');
      }
      const dataDir = networkDir(program.opts<GlobalOptions>().dataDir, database.postgres !== undefined);
      const shown = await showNetworkRecord(dataDir, parsed.data, database.postgres);
      const sections: {
        title: string;
        record: object | undefined;
        events: { index: number; body: string }[];
      }[] = [];
      if (shown.core) {
        sections.push({
          title: 'core',
          record: shown.core.record && { ...shown.core.record, ...(shown.core.state ?? {}) },
          events: shown.core.events,
        });
      }
      for (const { party, records } of shown.institutions) {
        if (records.requester) sections.push({ title: `${party} (requester)`, ...records.requester });
        if (records.provider) sections.push({ title: `${party} (provider)`, ...records.provider });
      }
      if (sections.length === 0) {
        console.log(`No party of the network in ${dataDir} has a record of ${parsed.data}.`);
        process.exitCode = 1;
        return;
      }
      for (const section of sections) {
        console.log(`\n${section.title}`);
        console.log(
          section.record === undefined
            ? '  (no record row: only its events remain)'
            : table(
                ['field', 'value'],
                Object.entries(section.record)
                  .filter(([, value]) => value !== undefined && value !== null)
                  .map(([key, value]) => [key, typeof value === 'string' ? value : JSON.stringify(value)]),
              ),
        );
        console.log('  events (log index: canonical JSON, the person code withheld):');
        for (const event of section.events) console.log(`    ${event.index}: ${withheld(event.body)}`);
      }
      let unsound = 0;
      for (const { party, messages } of shown.messages) {
        console.log(`\nsigned messages kept by ${party} (each checked against the network's CA)`);
        console.log(
          table(
            ['kept at', 'direction', 'type', 'from → to', 'signature', 'answers'],
            messages.map(({ message, ok, problems, answers }) => [
              message.at,
              message.direction,
              message.type,
              `${message.sender} → ${message.audience}`,
              ok ? 'valid' : `INVALID: ${problems.join('; ')}`,
              answers ?? (message.inResponseTo === null ? '' : '?'),
            ]),
          ),
        );
        unsound += messages.filter((m) => !m.ok).length;
      }
      if (unsound > 0) {
        console.log(`\n${unsound} signed message(s) do not check: see INVALID above.`);
        process.exitCode = 1;
      }
    });
}

/**
 * `dir` if it holds a network, else its `network/` (where `npm start` puts one) or its `demo/` (where
 * `renkei demo` does); ERR_VALIDATION if none.
 */
function networkDir(dataDir: string, onPostgres = false): string {
  const dir = resolve(dataDir);
  // On PostgreSQL the databases are elsewhere; the nodes' directories (PKI use, messages) are here.
  const holds = (d: string) =>
    onPostgres ? existsSync(join(d, 'core')) || existsSync(join(d, 'institutions')) : isNetworkDataDir(d);
  if (holds(dir)) return dir;
  if (holds(join(dir, 'network'))) return join(dir, 'network');
  if (holds(join(dir, 'demo'))) return join(dir, 'demo');
  throw new RenkeiError(
    'ERR_VALIDATION',
    `There is no network in ${dir} (no core/core.sqlite, no institutions/*/intermediate.sqlite): give --data-dir.`,
  );
}

function headsCell(p: PartyReport): string {
  switch (p.heads.status) {
    case 'signed':
      return `${p.heads.stored} (${p.heads.verified} checked)`;
    case 'unchecked':
      return `${p.heads.stored}, not checked: ${p.key}`;
    case 'unsigned':
      return 'none: heads are unsigned';
  }
}

/** An event's text with the person code withheld: an auditor reading a record has no use for it. */
function withheld(body: string): string {
  return body.replace(/"personCode":"[^"]*"/g, '"personCode":"(withheld)"');
}

/** The party and the row a finding concerns, in words. */
function where(f: NetworkFinding): string {
  const parts = [f.party];
  if (f.index !== undefined) parts.push(`log index ${f.index}`);
  if (f.processingNumber !== undefined) parts.push(`record ${f.processingNumber}`);
  return parts.join(', ');
}
