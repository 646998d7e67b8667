import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { japaneseDateTime } from '../nodes/portal/web/dates.ts';
import type { Client } from '../protocol/api.ts';
import { ApplicationNumber, type ApplicationDownload } from '../protocol/onestop-applications.ts';
import { LocalGovernmentCode } from '../domain/identifiers/local-government-code.ts';
import { portalApi } from '../protocol/routes.ts';
import { RenkeiError } from '../shared/errors.ts';
import { connectNode, nodeUrlOption } from './nodes.ts';
import { table, type GlobalOptions } from './output.ts';

/** The download API takes at most this many numbers a call. */
const BULK = 100;

/**
 * `renkei applications download --portal-url <url> --municipality <code> --out <dir>` (at a
 * municipality, its business system's): ぴったりサービス's 申請データダウンロード. Lists the new
 * applications to the municipality at the Myna Portal's network listener (mutual TLS with the
 * municipality's business-system certificate `<code>:business`), downloads them in bulk (100 a call),
 * and writes each as `<number>.p7s` (the CMS SignedData as the card made it, DER, the application's
 * bytes inside) and `<number>.json` (the form as the resident filled it in, readable, with the
 * portal's checks). Prints a table: number, procedure, received (和暦 and Western year, Japan time),
 * signature ✓/✗, the signing certificate's status at J-LIS now, whether the user-authentication
 * certificate's serial came with it. `--application <number>` downloads given ones again.
 *
 * Exit code 1 when any application's signature failed (the files are written all the same, for the
 * municipality's inquiry); 0 otherwise, also when there is nothing new.
 *
 * Errors: ERR_VALIDATION (a malformed URL, municipality code or application number),
 * ERR_CONFIG_INVALID (no business-system credential of the municipality), ERR_UPSTREAM_UNAVAILABLE,
 * and the portal's (ERR_UNKNOWN_APPLICATION, ERR_CALLER_NOT_ALLOWED).
 */
export function registerApplicationsCommand(program: Command): void {
  const applications = program
    .command('applications')
    .description('ぴったりサービス applications to a municipality (申請データダウンロード)');
  applications
    .command('download')
    .description("download and check the municipality's new applications from the Myna Portal")
    .requiredOption(
      '--portal-url <url>',
      "the portal's network listener, e.g. https://127.0.0.1:7182 (its networkUrl in the core's registry)",
    )
    .requiredOption(
      '--municipality <code>',
      'the municipality (全国地方公共団体コード, 6 digits), e.g. 152048',
    )
    .requiredOption('--out <dir>', 'where to write the applications (created if missing)')
    .option(
      '--application <number...>',
      'download these again (申請番号, e.g. 20261127-7KQ2M9XD) instead of the new ones',
    )
    .action(
      async (options: { portalUrl: string; municipality: string; out: string; application?: string[] }) => {
        const municipality = LocalGovernmentCode.safeParse(options.municipality);
        if (!municipality.success) {
          throw new RenkeiError(
            'ERR_VALIDATION',
            '--municipality must be a 6-digit local-government code, e.g. 152048.',
          );
        }
        const numbers = (options.application ?? []).map((n) => {
          const parsed = ApplicationNumber.safeParse(n);
          if (!parsed.success) {
            throw new RenkeiError(
              'ERR_VALIDATION',
              `${n} is not an application number (e.g. 20261127-7KQ2M9XD).`,
            );
          }
          return parsed.data;
        });
        const portal = await connectNode(nodeUrlOption(options.portalUrl, 'portal'), 'portal', portalApi, {
          dataDir: program.opts<GlobalOptions>().dataDir,
          timeoutMs: 60_000,
          municipality: municipality.data,
        });
        const downloaded = await download(portal, numbers);
        if (downloaded.length === 0) {
          console.log('新しい申請はありません。 No new applications.');
          return;
        }
        mkdirSync(options.out, { recursive: true, mode: 0o700 });
        for (const application of downloaded) write(options.out, application);
        console.log(
          table(
            [
              '申請番号 Number',
              '手続 Procedure',
              '受付 Received',
              '署名 Signature',
              '証明書 Certificate',
              '利用者証明用シリアル Auth serial',
            ],
            downloaded.map((a) => [
              a.applicationNumber,
              a.procedureName,
              `${japaneseDateTime(new Date(a.receivedAt))}\n${a.receivedAt}`,
              a.verification.signature === 'valid' ? '✓' : `✗ ${a.verification.code ?? ''}`.trim(),
              a.verification.certificateStatus,
              a.verification.authenticationSerial.length > 0 ? '✓' : '—',
            ]),
          ),
        );
        const failed = downloaded.filter((a) => a.verification.signature !== 'valid');
        console.log(
          `${downloaded.length} application(s) written to ${options.out}` +
            (failed.length > 0 ? `; ${failed.length} with a signature that failed (✗).` : '.'),
        );
        if (failed.length > 0) process.exitCode = 1;
      },
    );
}

/** The new applications (listed, then downloaded 100 a call), or the numbered ones. */
async function download(
  portal: Client<typeof portalApi>,
  numbers: readonly string[],
): Promise<ApplicationDownload[]> {
  const wanted =
    numbers.length > 0
      ? [...new Set(numbers)]
      : (await portal.listApplications({ query: { state: 'new' } })).applications.map(
          (a) => a.applicationNumber,
        );
  const out: ApplicationDownload[] = [];
  for (let i = 0; i < wanted.length; i += BULK) {
    const { applications } = await portal.downloadApplications({
      body: { applicationNumbers: wanted.slice(i, i + BULK) },
    });
    out.push(...applications);
  }
  return out;
}

/** `<number>.p7s` (the SignedData, DER) and `<number>.json` (the form, readable, and the checks). */
function write(dir: string, application: ApplicationDownload): void {
  const { content, signedData, ...summary } = application;
  let form: unknown;
  try {
    form = JSON.parse(Buffer.from(content, 'base64').toString('utf8'));
  } catch {
    form = { unreadable: 'the application’s bytes are not JSON; see the .p7s file' };
  }
  const base = join(dir, application.applicationNumber);
  writeFileSync(`${base}.p7s`, Buffer.from(signedData, 'base64'), { mode: 0o600 });
  writeFileSync(
    `${base}.json`,
    `${JSON.stringify({ ...summary, receivedAtJapanese: japaneseDateTime(new Date(summary.receivedAt)), application: form }, null, 2)}\n`,
    { mode: 0o600 },
  );
}
