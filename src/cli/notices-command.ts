import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AddresseeNumber } from '../protocol/identifiers.ts';
import { NoticeBody, NoticeTitle, PaymentRequest } from '../protocol/portal-notices.ts';
import { businessApi } from '../protocol/routes.ts';
import { RenkeiError } from '../shared/errors.ts';
import type { GlobalOptions } from './output.ts';
import { connectNode, nodeUrlOption } from './nodes.ts';

/**
 * `renkei notices send --institution-url <url> --addressee <number> --title <title> --body-file <file>
 * [--payment <yen> --due <YYYY-MM-DD> --payee <name> --reference <ref>]` (at an institution, a clerk's
 * or business system's): send a notice (お知らせ) to a resident at the Myna Portal through the
 * institution's business API; with `--payment`, a payment request (公金決済) the resident pays from the
 * notice, whose status the institution reads with `getPaymentRequest` (the notice id printed). The institution names the person by its
 * addressee number; the core converts its code into the portal's and delivers the notice, sealed,
 * when the resident can read it (at once, or at their first login to the portal).
 *
 * Errors: ERR_VALIDATION (a malformed addressee number, an empty or multi-line title, an empty or
 * unreadable body file; an amount that is not whole yen from 1 to 100,000,000, a due date that is not a
 * date, a payee or reference missing or malformed, or a payment option without `--payment`), and the institution's (ERR_UNKNOWN_ADDRESSEE_NUMBER, ERR_NO_PERSON_CODE…).
 */
export function registerNoticesCommand(program: Command): void {
  const notices = program
    .command('notices')
    .description('notices to residents at the Myna Portal (お知らせ)');
  notices
    .command('send')
    .description("send a notice to a resident's Myna Portal inbox, by the institution's addressee number")
    .requiredOption('--institution-url <url>', "the institution node's base URL, e.g. https://127.0.0.1:7111")
    .requiredOption('--addressee <number>', 'the addressee number (宛名番号) of the resident')
    .requiredOption('--title <title>', 'the title, one line')
    .requiredOption('--body-file <file>', 'the text of the notice (UTF-8 plain text)')
    .option(
      '--payment <yen>',
      'ask the resident to pay this amount, in whole yen, from the notice (公金決済)',
    )
    .option('--due <date>', 'with --payment: the due date, YYYY-MM-DD')
    .option('--payee <name>', 'with --payment: who is paid, as the resident reads it (e.g. 三条市)')
    .option('--reference <ref>', 'with --payment: your reference, 1–32 letters, digits or hyphens')
    .action(
      async (options: {
        institutionUrl: string;
        addressee: string;
        title: string;
        bodyFile: string;
        payment?: string;
        due?: string;
        payee?: string;
        reference?: string;
      }) => {
        const addresseeNumber = AddresseeNumber.safeParse(options.addressee);
        if (!addresseeNumber.success)
          throw new RenkeiError('ERR_VALIDATION', 'The addressee number is malformed.');
        const title = NoticeTitle.safeParse(options.title);
        if (!title.success)
          throw new RenkeiError('ERR_VALIDATION', 'The title must be one line of 1–100 characters.');
        let text: string;
        try {
          text = readFileSync(options.bodyFile, 'utf8');
        } catch {
          throw new RenkeiError('ERR_VALIDATION', 'The body file cannot be read.');
        }
        const body = NoticeBody.safeParse(text);
        if (!body.success) throw new RenkeiError('ERR_VALIDATION', 'The body must be 1–20,000 characters.');
        const payment = paymentOption(options);
        const institution = await connectNode(
          nodeUrlOption(options.institutionUrl, 'institution'),
          'institution',
          businessApi,
          { dataDir: program.opts<GlobalOptions>().dataDir },
        );
        const sent = await institution.sendResidentMessage({
          body: {
            addresseeNumber: addresseeNumber.data,
            title: title.data,
            body: body.data,
            ...(payment === undefined ? {} : { payment }),
          },
        });
        console.log(
          `Notice ${sent.noticeId} sent: the resident reads it in the Myna Portal (at once, or at their first login).`,
        );
        if (payment !== undefined) {
          console.log(
            `It asks for a payment of ${payment.amount.toLocaleString('en')} yen to ${payment.payee} by ${payment.dueDate} (reference ${payment.reference}).`,
          );
        }
      },
    );
}

/** The payment request the options ask for; undefined without `--payment`. Errors: ERR_VALIDATION. */
function paymentOption(options: {
  payment?: string;
  due?: string;
  payee?: string;
  reference?: string;
}): PaymentRequest | undefined {
  if (options.payment === undefined) {
    if (options.due !== undefined || options.payee !== undefined || options.reference !== undefined) {
      throw new RenkeiError('ERR_VALIDATION', '--due, --payee and --reference go with --payment <yen>.');
    }
    return undefined;
  }
  if (!/^[0-9]+$/.test(options.payment)) {
    throw new RenkeiError('ERR_VALIDATION', '--payment is an amount in whole yen, digits only (e.g. 12300).');
  }
  const missing = (['due', 'payee', 'reference'] as const).filter((k) => options[k] === undefined);
  if (missing.length > 0) {
    throw new RenkeiError(
      'ERR_VALIDATION',
      `--payment needs ${missing.map((k) => `--${k}`).join(', ')} too: the due date, who is paid, your reference.`,
    );
  }
  const parsed = PaymentRequest.safeParse({
    amount: Number(options.payment),
    dueDate: options.due,
    payee: options.payee,
    reference: options.reference,
  });
  if (!parsed.success) {
    const field = parsed.error.issues[0]?.path[0];
    const words: Record<string, string> = {
      amount: '--payment must be from 1 to 100,000,000 yen.',
      dueDate: '--due must be a date, YYYY-MM-DD.',
      payee: '--payee must be 1–100 characters.',
      reference: '--reference must be 1–32 letters, digits or hyphens.',
    };
    throw new RenkeiError('ERR_VALIDATION', words[String(field)] ?? 'The payment request is malformed.');
  }
  return parsed.data;
}
