import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { writeCardFile } from '../card/virtual-card.ts';
import type { Client } from '../protocol/api.ts';
import type { CardIssued, CardView } from '../protocol/cards.ts';
import { jlisApi } from '../protocol/routes.ts';
import { RenkeiError } from '../shared/errors.ts';
import { connectNode, nodeUrlOption } from './nodes.ts';
import { table, type GlobalOptions } from './output.ts';

const DEFAULT_URL = 'https://127.0.0.1:7101';

interface Common {
  jlisUrl: string;
  municipality?: string;
  clerk?: string;
}

/**
 * `renkei card …`: the Individual Number Card (個人番号カード) at a municipality's counter, for its
 * clerk: `apply`, `issue`, `deliver`, `suspend`, `lift`, `revoke`, `reissue`, `renew`, `show`,
 * `unlock-pin`, and after a move or a name change `endorse` (券面事項の追記) and
 * `issue-signing-certificate` (署名用電子証明書の発行 onto the same card), each a call to J-LIS with the municipality's business-system credential. A card made
 * or changed is written to the file `--out` (or `--card`) names, mode 0600. The PIN and the signing
 * password are read from standard input (typed by the holder, not echoed on a terminal), never from
 * the command line, where `ps` would show them.
 */
export function registerCardCommand(program: Command): void {
  const card = program
    .command('card')
    .description("the Individual Number Card (個人番号カード) at the municipality's counter");
  const common = (command: Command) =>
    command
      .option('--jlis-url <url>', "J-LIS's base URL", DEFAULT_URL)
      .option(
        '--municipality <id>',
        'the municipality whose business-system credential is presented (e.g. 131016)',
      )
      .option('--clerk <id>', "the clerk's user id, for J-LIS's records");
  const connect = async (options: Common): Promise<Client<typeof jlisApi>> =>
    connectNode(nodeUrlOption(options.jlisUrl, 'jlis'), 'jlis', jlisApi, {
      dataDir: program.opts<GlobalOptions>().dataDir,
      timeoutMs: 60_000,
      ...(options.municipality === undefined ? {} : { municipality: options.municipality }),
    });
  const clerk = (options: Common) => (options.clerk === undefined ? {} : { clerkId: options.clerk });

  common(card.command('apply'))
    .description('申請: take an application for a card')
    .requiredOption('--resident-record-code <code>', 'the applicant’s resident record code (住民票コード)')
    .option('--applied-on <date>', 'the day the application was received (default today)')
    .action(async (options: Common & { residentRecordCode: string; appliedOn?: string }) => {
      const jlis = await connect(options);
      const view = await jlis.applyForCard({
        body: {
          residentRecordCode: options.residentRecordCode,
          ...(options.appliedOn === undefined ? {} : { appliedOn: options.appliedOn }),
          ...clerk(options),
        },
      });
      console.log(cardTable(view));
    });

  common(card.command('issue'))
    .description('交付: make the card at the counter; the holder types the PIN and signing password')
    .requiredOption('--card-id <id>', 'the card applied for')
    .requiredOption('--out <file>', 'where to write the card (must not exist)')
    .action(async (options: Common & { cardId: string; out: string }) => {
      const out = newCardPath(options.out);
      const secrets = await readSecrets({ signing: true });
      const jlis = await connect(options);
      const issued = await jlis.issueCard({
        body: { cardId: options.cardId, ...secrets, ...clerk(options) },
      });
      writeIssued(issued, out);
    });

  common(card.command('deliver'))
    .description('交付済: the holder received the card')
    .requiredOption('--card-id <id>', 'the card')
    .action(async (options: Common & { cardId: string }) => {
      const jlis = await connect(options);
      console.log(cardTable(await jlis.deliverCard({ body: { cardId: options.cardId, ...clerk(options) } })));
    });

  common(card.command('suspend'))
    .description('一時停止: the card is lost or stolen; its certificates are put on hold (一時保留)')
    .requiredOption('--card-id <id>', 'the card')
    .option('--reason <reason>', 'loss or theft', 'loss')
    .action(async (options: Common & { cardId: string; reason: string }) => {
      const reason = oneOf(options.reason, ['loss', 'theft'] as const, '--reason');
      const jlis = await connect(options);
      const view = await jlis.suspendCard({ body: { cardId: options.cardId, reason, ...clerk(options) } });
      console.log(cardTable(view));
      console.log(suspensionNote(view));
    });

  common(card.command('lift'))
    .description(
      '一時停止の解除: the card found again; its certificates on hold released, the same ones valid again',
    )
    .requiredOption('--card-id <id>', 'the card')
    .requiredOption('--card <file>', 'the card file brought to the counter')
    .option(
      '--new-keys',
      'for a card whose certificates were revoked (suspended before holds): new keys and certificates under a new PIN and password',
    )
    .action(async (options: Common & { cardId: string; card: string; newKeys?: boolean }) => {
      const path = resolve(options.card);
      const archive = readCard(path);
      const secrets = options.newKeys ? await readSecrets({ signing: true }) : {};
      const jlis = await connect(options);
      const issued = await jlis.liftCardSuspension({
        body: { cardId: options.cardId, card: archive, ...secrets, ...clerk(options) },
      });
      if (options.newKeys) {
        writeIssued(issued, path);
        return;
      }
      console.log(cardTable(issued.card));
      console.log(
        issued.card.certificates === 'valid'
          ? 'Certificate hold released (一時保留の解除): the same certificates are valid again; the card file is unchanged.'
          : `The card is in use again; its certificates are ${issued.card.certificates} (a new signing certificate is issued with issue-signing-certificate).`,
      );
    });

  common(card.command('revoke'))
    .description('廃止: revoke the card for good (death, return, damage, loss, withdrawn)')
    .requiredOption('--card-id <id>', 'the card')
    .requiredOption('--reason <reason>', 'death, return, damage, loss or withdrawn')
    .action(async (options: Common & { cardId: string; reason: string }) => {
      const reason = oneOf(
        options.reason,
        ['death', 'return', 'damage', 'loss', 'withdrawn'] as const,
        '--reason',
      );
      const jlis = await connect(options);
      console.log(
        cardTable(await jlis.revokeCard({ body: { cardId: options.cardId, reason, ...clerk(options) } })),
      );
    });

  common(card.command('reissue'))
    .description('再交付: a new card in place of one lost or damaged; the old one is revoked')
    .requiredOption('--card-id <id>', 'the old card')
    .requiredOption('--reason <reason>', 'loss or damage')
    .requiredOption('--out <file>', 'where to write the new card (must not exist)')
    .action(async (options: Common & { cardId: string; reason: string; out: string }) => {
      const reason = oneOf(options.reason, ['loss', 'damage'] as const, '--reason');
      const out = newCardPath(options.out);
      const secrets = await readSecrets({ signing: true });
      const jlis = await connect(options);
      writeIssued(
        await jlis.reissueCard({ body: { cardId: options.cardId, reason, ...secrets, ...clerk(options) } }),
        out,
      );
    });

  common(card.command('renew'))
    .description('更新: a new card, from three months before the old one expires')
    .requiredOption('--card-id <id>', 'the old card')
    .requiredOption('--out <file>', 'where to write the new card (must not exist)')
    .action(async (options: Common & { cardId: string; out: string }) => {
      const out = newCardPath(options.out);
      const secrets = await readSecrets({ signing: true });
      const jlis = await connect(options);
      writeIssued(
        await jlis.renewCard({ body: { cardId: options.cardId, ...secrets, ...clerk(options) } }),
        out,
      );
    });

  common(card.command('show'))
    .description("a card's state, dates, certificates and every operation recorded on it")
    .requiredOption('--card-id <id>', 'the card')
    .action(async (options: Common & { cardId: string }) => {
      const jlis = await connect(options);
      const view = await jlis.lookupCard({ body: { cardId: options.cardId, ...clerk(options) } });
      console.log(cardTable(view));
      console.log(
        table(
          ['when', 'operation', 'outcome', 'from', 'to', 'reason', 'by'],
          (view.events ?? []).map((e) => [
            e.at,
            e.operation,
            e.errorCode === undefined ? e.outcome : `${e.outcome} (${e.errorCode})`,
            e.fromState ?? '',
            e.toState ?? '',
            e.reason ?? '',
            e.clerkId === undefined ? e.actor : `${e.actor} / ${e.clerkId}`,
          ]),
        ),
      );
    });

  common(card.command('endorse'))
    .description(
      '券面事項の追記: write a move or a name change on the card (the old values kept); the holder types the PIN',
    )
    .requiredOption('--card-id <id>', 'the card')
    .requiredOption('--card <file>', 'the card file brought to the counter (rewritten)')
    .action(async (options: Common & { cardId: string; card: string }) => {
      const path = resolve(options.card);
      const archive = readCard(path);
      const [pin = ''] = await ask(['the holder’s 4-digit PIN']);
      const jlis = await connect(options);
      const issued = await jlis.endorseCard({
        body: { cardId: options.cardId, card: archive, pin, ...clerk(options) },
      });
      writeIssued(issued, path);
    });

  common(card.command('issue-signing-certificate'))
    .description(
      '署名用電子証明書の発行: a new signing certificate onto the same card, after a change revoked the old one',
    )
    .requiredOption('--card-id <id>', 'the card')
    .requiredOption('--card <file>', 'the card file brought to the counter (rewritten)')
    .action(async (options: Common & { cardId: string; card: string }) => {
      const path = resolve(options.card);
      const archive = readCard(path);
      const [signingPassword = ''] = await ask(['the holder’s new signing password (6–16 A–Z, 0–9)']);
      const jlis = await connect(options);
      const issued = await jlis.issueSigningCertificate({
        body: { cardId: options.cardId, card: archive, signingPassword, ...clerk(options) },
      });
      writeIssued(issued, path);
    });

  common(card.command('unlock-pin'))
    .description('暗証番号のロック解除: reset a locked PIN or password with the card at the counter')
    .requiredOption('--card-id <id>', 'the card')
    .requiredOption('--card <file>', 'the card file (rewritten)')
    .option('--which <secret>', 'pin (4 digits) or password (signing)', 'pin')
    .option('--forgotten', 'the holder forgot it: new keys and certificates under a new PIN and password')
    .action(
      async (options: Common & { cardId: string; card: string; which: string; forgotten?: boolean }) => {
        const which = oneOf(options.which, ['pin', 'password'] as const, '--which');
        const path = resolve(options.card);
        const archive = readCard(path);
        const body = options.forgotten
          ? { ...(await readSecrets({ signing: true })) }
          : {
              currentSecret:
                (await ask([`the current ${which === 'pin' ? 'PIN' : 'signing password'}`]))[0] ?? '',
            };
        const jlis = await connect(options);
        const issued = await jlis.unlockCardPin({
          body: { cardId: options.cardId, card: archive, which, ...body, ...clerk(options) },
        });
        writeIssued(issued, path);
      },
    );
}

/** A card as a two-column table a clerk reads. */
export function cardTable(view: CardView): string {
  const rows: [string, string][] = [
    ['card id', view.cardId],
    ['state', view.stateReason === undefined ? view.state : `${view.state} (${view.stateReason})`],
    ['resident record code', view.residentRecordCode],
    ['applied on', view.appliedOn],
    ['issued on', view.issuedOn ?? ''],
    [
      'expires on',
      view.expiresOn === undefined ? '' : `${view.expiresOn}${view.expired ? ' (expired)' : ''}`,
    ],
    [
      'certificates',
      `${view.certificates}${view.certificatesExpireOn ? ` until ${view.certificatesExpireOn}` : ''}`,
    ],
    ['signing certificate', view.signingSerial ?? '(none)'],
    ['authentication certificate', view.authenticationSerial ?? '(none)'],
  ];
  if (view.replacesCardId) rows.push(['replaces', view.replacesCardId]);
  if (view.replacedByCardId) rows.push(['replaced by', view.replacedByCardId]);
  return table(['', ''], rows);
}

/** What a suspension did to the certificates, in a line a clerk reads to the holder. */
export function suspensionNote(view: CardView): string {
  return view.certificates === 'held'
    ? 'Both certificates are on hold (電子証明書の一時保留): they cannot log in or sign until the suspension is lifted at the municipality, or the card is revoked.'
    : `The card is suspended; its certificates are ${view.certificates}.`;
}

function writeIssued(issued: CardIssued, path: string): void {
  writeCardFile(path, Buffer.from(issued.archive, 'base64'));
  console.log(cardTable(issued.card));
  console.log(`The card is in ${path} (mode 0600): hand it to the holder.`);
}

function newCardPath(file: string): string {
  const path = resolve(file);
  if (existsSync(path)) {
    throw new RenkeiError(
      'ERR_VALIDATION',
      `--out ${path} exists already; a card is never written over another.`,
    );
  }
  return path;
}

function readCard(path: string): string {
  try {
    return readFileSync(path).toString('base64');
  } catch (error) {
    throw new RenkeiError(
      'ERR_VALIDATION',
      `--card ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'}).`,
    );
  }
}

function oneOf<const T extends readonly string[]>(value: string, allowed: T, flag: string): T[number] {
  if (!allowed.includes(value))
    throw new RenkeiError('ERR_VALIDATION', `${flag} must be ${allowed.join(', ')}.`);
  return value;
}

/** The PIN, and the signing password (empty: no signing certificate), as the holder types them. */
async function readSecrets(options: {
  signing: boolean;
}): Promise<{ pin: string; signingPassword?: string }> {
  const [pin = '', password = ''] = await ask([
    'the holder’s new 4-digit PIN',
    ...(options.signing ? ['the holder’s new signing password (6–16 A–Z, 0–9; empty for none)'] : []),
  ]);
  return { pin, ...(password === '' ? {} : { signingPassword: password }) };
}

/** Lines from standard input, one per prompt; on a terminal, each asked on stderr and not echoed. */
async function ask(prompts: readonly string[]): Promise<string[]> {
  const terminal = process.stdin.isTTY;
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal });
  if (terminal) {
    // Mute the echo of what is typed; the prompt itself is written before muting.
    const internals = rl as unknown as { _writeToOutput: (text: string) => void };
    internals._writeToOutput = () => {};
  }
  const lines = rl[Symbol.asyncIterator]();
  const answers: string[] = [];
  try {
    for (const prompt of prompts) {
      if (terminal) process.stderr.write(`${prompt}: `);
      const next = await lines.next();
      if (terminal) process.stderr.write('\n');
      answers.push(next.done ? '' : String(next.value).trim());
    }
  } finally {
    rl.close();
  }
  return answers;
}
