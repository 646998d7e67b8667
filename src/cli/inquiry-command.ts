import type { Command } from 'commander';
import { loadLegalTable } from '../domain/legal-table/index.ts';
import type { LegalTable } from '../domain/legal-table/types.ts';
import type { InquiryReply, InquiryStatus } from '../protocol/business.ts';
import { MAX_WAIT_MS } from '../protocol/business.ts';
import { ClauseNo, InstitutionId, ItemNo, ProcedureId } from '../protocol/identifiers.ts';
import type { AnsweredItem } from '../protocol/messages.ts';
import { businessApi } from '../protocol/routes.ts';
import { RenkeiError } from '../shared/errors.ts';
import { connectNode, nodeUrlOption } from './nodes.ts';
import { itemNosOption, schemaOption, table, wholeNumberOption, type GlobalOptions } from './output.ts';

/**
 * `renkei inquiry`: one inquiry (情報照会) from the command line, as a business system makes it
 * (`POST /business/v1/inquiries` with the institution's business certificate): for IT staff who check a
 * deployment end to end, and for a clerk's one-off question without the console. `send` makes it and
 * waits for the answer (`--wait`, 10 s by default); `show` reads one made earlier. The outcome is a
 * table, and each item answered a table of its layout's fields, labelled as the legal table's layout
 * names them.
 *
 * Exit status: 0 when the inquiry is answered (provided or not held) or still pending after the wait
 * (it says how to read it later); 1 when it is refused or failed, or the node refused the request. An
 * inquiry the core may or may not have taken (`queued`) prints its request id: sending the same
 * inquiry again with `--request-id` gets its processing number, never a second inquiry.
 */
export function registerInquiryCommand(program: Command): void {
  const inquiry = program.command('inquiry').description('one inquiry (情報照会): send it, or show one sent');

  inquiry
    .command('send')
    .description('send one inquiry about one person and show its outcome and the items answered')
    .requiredOption('--institution-url <url>', "the requester's node, e.g. https://127.0.0.1:7111")
    .requiredOption(
      '--addressee <number>',
      'the person, by the institution’s own addressee number (宛名番号)',
    )
    .requiredOption('--provider <id>', 'the institution asked, e.g. 131041')
    .requiredOption('--clause <no>', 'the clause of Appended Table 2, e.g. 74')
    .requiredOption('--procedure <id>', 'the procedure, e.g. 074-01')
    .requiredOption('--items <list>', 'item numbers, comma-separated, e.g. 2 or 1,2')
    .option('--non-disclosure', 'mark the exchange non-disclosure (不開示)')
    .option(
      '--request-id <uuid>',
      'the idempotency key: the same inquiry sent again gets the first one’s answer',
    )
    .option(
      '--wait <seconds>',
      `wait this long for the answer (0: do not wait; at most ${MAX_WAIT_MS / 1000})`,
      '10',
    )
    .action(
      async (options: {
        institutionUrl: string;
        addressee: string;
        provider: string;
        clause: string;
        procedure: string;
        items: string;
        nonDisclosure?: boolean;
        requestId?: string;
        wait: string;
      }) => {
        const body = {
          addresseeNumber: options.addressee,
          providerId: schemaOption(InstitutionId, options.provider, '--provider'),
          clauseNo: schemaOption(ClauseNo, options.clause, '--clause'),
          procedureId: schemaOption(ProcedureId, options.procedure, '--procedure'),
          itemNos: itemNosOption(options.items, ItemNo),
          ...(options.nonDisclosure ? { nonDisclosure: true } : {}),
          ...(options.requestId === undefined ? {} : { requestId: options.requestId }),
          waitMs: waitMsOf(options.wait),
        };
        const client = await connect(program, options.institutionUrl);
        let reply: InquiryReply;
        try {
          reply = await client.inquire({ body });
        } catch (error) {
          throw explained(error, options.requestId);
        }
        print(reply, loadLegalTable());
      },
    );

  inquiry
    .command('show <processingNumber>')
    .description('show an inquiry sent earlier: its outcome and the items answered')
    .requiredOption('--institution-url <url>', "the requester's node")
    .option('--wait <seconds>', 'wait this long for the answer if it is still pending', '0')
    .action(async (processingNumber: string, options: { institutionUrl: string; wait: string }) => {
      const client = await connect(program, options.institutionUrl);
      const status = await client.getInquiry({
        params: { processingNumber },
        query: { waitMs: waitMsOf(options.wait) },
      });
      print(status, loadLegalTable());
    });
}

async function connect(program: Command, url: string) {
  return connectNode(nodeUrlOption(url, 'institution'), 'institution', businessApi, {
    dataDir: program.opts<GlobalOptions>().dataDir,
    timeoutMs: MAX_WAIT_MS + 30_000,
  });
}

/** `--wait`: whole seconds up to the route's bound, in ms. */
function waitMsOf(seconds: string): number {
  return wholeNumberOption(seconds, '--wait', 0, MAX_WAIT_MS / 1000) * 1000;
}

/**
 * The node's refusal, with what a person needs to act on it: the processing number a refusal was
 * recorded under, or the request id to send an inquiry in doubt again with.
 */
export function explained(error: unknown, requestId: string | undefined): unknown {
  if (!(error instanceof RenkeiError)) return error;
  const { details } = error;
  if (details.queued === true && typeof details.requestId === 'string') {
    const again = requestId === undefined ? ` with --request-id ${details.requestId}` : '';
    return new RenkeiError(
      error.code,
      `${error.message} Run the same command again${again} to learn its processing number.`,
      details,
    );
  }
  if (typeof details.processingNumber === 'string') {
    const rule = typeof details.rule === 'string' ? `, rule ${details.rule}` : '';
    return new RenkeiError(
      error.code,
      `${error.message} (recorded as processing number ${details.processingNumber}${rule})`,
      details,
    );
  }
  return error;
}

/** The inquiry's outcome as a table, then each item answered; exit status 1 for a failed or refused one. */
function print(reply: InquiryReply, legal: LegalTable): void {
  const status: Partial<InquiryStatus> & Pick<InquiryStatus, 'processingNumber' | 'status'> = reply;
  const outcome = status.outcome ?? 'pending';
  console.log(
    table(
      [
        'processing number',
        'status',
        'outcome',
        'provider',
        'clause',
        'procedure',
        'items',
        'requested',
        'answered',
      ],
      [
        [
          status.processingNumber,
          status.status,
          status.reason === undefined ? outcome : `${outcome} (${status.reason})`,
          status.providerId ?? '',
          status.clauseNo ?? '',
          status.procedureId ?? '',
          status.itemNos?.join(',') ?? '',
          status.requestedAt ?? '',
          status.answeredAt ?? '',
        ],
      ],
    ),
  );
  for (const item of status.items ?? []) console.log(`\n${itemTable(item, legal)}`);
  if (status.status === 'pending') {
    console.log(
      `\nNo answer yet. Read it later: renkei inquiry show ${status.processingNumber} --institution-url <url> --wait 30`,
    );
  }
  if (outcome === 'failed' || outcome === 'refused') process.exitCode = 1;
}

/** An item answered: its number and name, then one row per field of its layout, as the layout labels it. */
function itemTable(item: AnsweredItem, legal: LegalTable): string {
  const info = legal.findItem(item.itemNo);
  const layout = info?.layouts.find((l) => l.version === item.layoutVersion);
  const labelled = new Set<string>();
  const rows: string[][] = [];
  for (const field of layout?.fields ?? []) {
    if (!(field.name in item.data)) continue;
    labelled.add(field.name);
    rows.push([field.label, field.name, valueText(item.data[field.name])]);
  }
  for (const [name, value] of Object.entries(item.data)) {
    if (!labelled.has(name)) rows.push(['', name, valueText(value)]);
  }
  const title = `item ${item.itemNo}${info ? ` ${info.name} (${info.nameEn})` : ''}, layout ${item.layoutVersion}`;
  return `${title}\n${table(['field', 'name', 'value'], rows)}`;
}

function valueText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
