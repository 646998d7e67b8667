import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { AddresseeNumber } from '../protocol/identifiers.ts';
import { NoticeBody, NoticeTitle } from '../protocol/portal-notices.ts';
import { businessApi } from '../protocol/routes.ts';
import { RenkeiError } from '../shared/errors.ts';
import type { GlobalOptions } from './output.ts';
import { connectNode, nodeUrlOption } from './nodes.ts';

/**
 * `renkei notices send --institution-url <url> --addressee <number> --title <title> --body-file <file>`
 * (at an institution, a clerk's or business system's): send a notice (お知らせ) to a resident at the
 * Myna Portal through the institution's business API. The institution names the person by its
 * addressee number; the core converts its code into the portal's and delivers the notice, sealed,
 * when the resident can read it (at once, or at their first login to the portal).
 *
 * Errors: ERR_VALIDATION (a malformed addressee number, an empty or multi-line title, an empty or
 * unreadable body file), and the institution's (ERR_UNKNOWN_ADDRESSEE_NUMBER, ERR_NO_PERSON_CODE…).
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
    .action(
      async (options: { institutionUrl: string; addressee: string; title: string; bodyFile: string }) => {
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
        const institution = await connectNode(
          nodeUrlOption(options.institutionUrl, 'institution'),
          'institution',
          businessApi,
          { dataDir: program.opts<GlobalOptions>().dataDir },
        );
        const sent = await institution.sendResidentMessage({
          body: { addresseeNumber: addresseeNumber.data, title: title.data, body: body.data },
        });
        console.log(
          `Notice ${sent.noticeId} sent: the resident reads it in the Myna Portal (at once, or at their first login).`,
        );
      },
    );
}
