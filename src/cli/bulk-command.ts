import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { BulkInquiryStatus } from '../protocol/business.ts';
import type { Client } from '../protocol/api.ts';
import { ClauseNo, InstitutionId, ItemNo, ProcedureId } from '../protocol/identifiers.ts';
import { businessApi } from '../protocol/routes.ts';
import { BULK_RESULTS_CSV_HEADER, bulkResultCsvRow, parseAddresseeNumbers } from '../protocol/bulk-file.ts';
import { RenkeiError } from '../shared/errors.ts';
import { connectNode, nodeUrlOption } from './nodes.ts';
import {
  itemNosOption,
  plural,
  readFileArgument,
  schemaOption,
  table,
  type GlobalOptions,
} from './output.ts';

/**
 * `renkei bulk`: bulk inquiries (一括照会) from the command line, as a business system would make
 * them. `submit` reads a file of addressee numbers, submits them with one clause, procedure, provider
 * and item list, shows a progress bar until every person has an outcome, and writes the results;
 * `status` and `results` read a bulk inquiry made earlier.
 *
 * The file: one addressee number per line (a CSV column of them, with or without the header
 * `addresseeNumber`), or JSON lines (`{"addresseeNumber": "…"}`, for `.jsonl` / `.ndjson`). Every line
 * is checked before anything is sent; a bad line is named and nothing is sent.
 *
 * Results: JSON lines (`.jsonl`, default) or CSV (`.csv`), one row per person in the order of the file:
 * position, addressee number, processing number, outcome, reason, items.
 */
export function registerBulkCommand(program: Command): void {
  const bulk = program.command('bulk').description('bulk inquiries (一括照会): many persons, one procedure');

  bulk
    .command('submit')
    .description('submit a file of addressee numbers, follow the progress and write the results')
    .requiredOption('--institution-url <url>', "the requester's node, e.g. https://127.0.0.1:7111")
    .requiredOption('--file <path>', 'addressee numbers: one per line (CSV), or JSON lines (.jsonl)')
    .requiredOption('--provider <id>', 'the institution asked, e.g. 131041')
    .requiredOption('--clause <no>', 'the clause of Appended Table 2, e.g. 74')
    .requiredOption('--procedure <id>', 'the procedure, e.g. 074-01')
    .requiredOption('--items <list>', 'item numbers, comma-separated, e.g. 2 or 1,2')
    .option('--non-disclosure', 'mark the exchanges non-disclosure (不開示)')
    .option('--out <file>', 'where to write the results (.jsonl or .csv; default <bulk number>.jsonl)')
    .option('--no-wait', 'submit and print the bulk number only')
    .action(
      async (options: {
        institutionUrl: string;
        file: string;
        provider: string;
        clause: string;
        procedure: string;
        items: string;
        nonDisclosure?: boolean;
        out?: string;
        wait: boolean;
      }) => {
        const addresseeNumbers = readAddresseeNumbers(options.file);
        const body = {
          providerId: schemaOption(InstitutionId, options.provider, '--provider'),
          clauseNo: schemaOption(ClauseNo, options.clause, '--clause'),
          procedureId: schemaOption(ProcedureId, options.procedure, '--procedure'),
          itemNos: itemNosOption(options.items, ItemNo),
          ...(options.nonDisclosure ? { nonDisclosure: true } : {}),
          addresseeNumbers,
        };
        const client = await connect(program, options.institutionUrl);
        const accepted = await client.submitBulkInquiry({ body });
        console.log(`Bulk inquiry ${accepted.bulkNumber}: ${plural(accepted.total, 'person')} submitted.`);
        if (!options.wait) return;
        const done = await follow(client, accepted);
        printStatus(done);
        await writeResults(client, done.bulkNumber, options.out ?? `${done.bulkNumber}.jsonl`);
      },
    );

  bulk
    .command('status <bulkNumber>')
    .description('where a bulk inquiry stands')
    .requiredOption('--institution-url <url>', "the requester's node")
    .action(async (bulkNumber: string, options: { institutionUrl: string }) => {
      const client = await connect(program, options.institutionUrl);
      printStatus(await client.getBulkInquiry({ params: { bulkNumber } }));
    });

  bulk
    .command('results <bulkNumber>')
    .description("write a bulk inquiry's results, one row per person")
    .requiredOption('--institution-url <url>', "the requester's node")
    .requiredOption('--out <file>', 'the results file (.jsonl or .csv)')
    .action(async (bulkNumber: string, options: { institutionUrl: string; out: string }) => {
      const client = await connect(program, options.institutionUrl);
      await writeResults(client, bulkNumber, options.out);
    });
}

async function connect(program: Command, url: string): Promise<Client<typeof businessApi>> {
  return connectNode(nodeUrlOption(url, 'institution'), 'institution', businessApi, {
    dataDir: program.opts<GlobalOptions>().dataDir,
    timeoutMs: 120_000,
  });
}

/** The file's addressee numbers, every line checked; ERR_VALIDATION naming the first bad lines. */
export function readAddresseeNumbers(path: string): string[] {
  const text = readFileArgument(path, '--file').toString('utf8');
  return parseAddresseeNumbers(text, {
    jsonLines: /\.(jsonl|ndjson)$/i.test(path),
    source: `--file ${path}`,
  });
}

/** Poll until every person has an outcome, with a progress bar on the terminal. */
async function follow(
  client: Client<typeof businessApi>,
  accepted: BulkInquiryStatus,
): Promise<BulkInquiryStatus> {
  const bar = new SingleBar(
    { format: 'persons [{bar}] {value}/{total} answered, {sent} sent, {eta}s left', stream: process.stderr },
    Presets.shades_classic,
  );
  bar.start(accepted.total, accepted.finished, { sent: accepted.sent });
  try {
    let status = accepted;
    while (status.status !== 'done') {
      await new Promise((resolve) => setTimeout(resolve, 500));
      status = await client.getBulkInquiry({ params: { bulkNumber: accepted.bulkNumber } });
      bar.update(status.finished, { sent: status.sent });
    }
    return status;
  } finally {
    bar.stop();
  }
}

function printStatus(status: BulkInquiryStatus): void {
  console.log(
    table(
      ['bulk number', 'status', 'persons', 'sent', 'provided', 'not held', 'refused', 'failed'],
      [
        [
          status.bulkNumber,
          status.status,
          status.total,
          status.sent,
          status.outcomes.provided,
          status.outcomes.not_held,
          status.outcomes.refused,
          status.outcomes.failed,
        ],
      ],
    ),
  );
}

/** Page through the results into a file: JSON lines, or CSV for a `.csv` name. */
async function writeResults(client: Client<typeof businessApi>, bulkNumber: string, out: string) {
  const csv = /\.csv$/i.test(out);
  const stream = createWriteStream(out, { flags: 'wx' });
  await once(stream, 'open').catch((error: NodeJS.ErrnoException) => {
    throw new RenkeiError(
      'ERR_VALIDATION',
      error.code === 'EEXIST'
        ? `--out ${out} exists already; give another file name.`
        : `--out ${out} cannot be written (${error.code ?? 'unknown error'}).`,
    );
  });
  const write = async (line: string) => {
    if (!stream.write(line)) await once(stream, 'drain');
  };
  if (csv) await write(BULK_RESULTS_CSV_HEADER);
  let written = 0;
  let after: number | undefined;
  do {
    const page = await client.getBulkResults({
      params: { bulkNumber },
      query: { limit: 10_000, ...(after === undefined ? {} : { after }) },
    });
    for (const result of page.results)
      await write(csv ? bulkResultCsvRow(result) : `${JSON.stringify(result)}\n`);
    written += page.results.length;
    after = page.next;
  } while (after !== undefined);
  stream.end();
  await once(stream, 'finish');
  console.log(`Results of ${plural(written, 'person')} written to ${out}.`);
}
