import { createWriteStream, rmSync } from 'node:fs';
import { once } from 'node:events';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import iconv from 'iconv-lite';
import {
  CLOSE_CAUSES,
  CORPORATION_KINDS,
  PROCESS_KINDS,
  type CorporationEntry,
} from '../domain/corporations/corporation.ts';
import { CORPORATION_CSV_HEADER, corporationCsvRow } from '../domain/corporations/csv.ts';
import { formatCorporateNumber, parseCorporateNumber } from '../domain/identifiers/corporate-number.ts';
import type { Client } from '../protocol/api.ts';
import { corporateApi } from '../protocol/routes.ts';
import { RenkeiError } from '../shared/errors.ts';
import { connectNode, nodeUrlOption } from './nodes.ts';
import { plural, table, type GlobalOptions } from './output.ts';

const DEFAULT_URL = 'https://127.0.0.1:7103';

/**
 * `renkei corporate`: the corporate-number service (法人番号公表サイト) from the command line, as
 * anyone may use it: `show <number>` (with its history), `search <name>` (partial, kana-insensitive),
 * `changes --from --to` (the difference data), `download --out F` (the full CSV, UTF-8 or Shift_JIS
 * as the NTA offers both).
 */
export function registerCorporateCommand(program: Command): void {
  const corporate = program
    .command('corporate')
    .description('the corporate-number service (法人番号): look up, search, list changes, download');
  const connect = async (url: string) =>
    connectNode(nodeUrlOption(url, 'corporate'), 'corporate', corporateApi, {
      dataDir: program.opts<GlobalOptions>().dataDir,
    });

  corporate
    .command('show <number>')
    .description('one corporation by its Corporate Number (13 digits; spaces and hyphens allowed)')
    .option('--corporate-url <url>', 'the corporate-number service', DEFAULT_URL)
    .option('--json', 'print JSON instead of a table')
    .action(async (number: string, options: { corporateUrl: string; json?: boolean }) => {
      const corporateNumber = parseCorporateNumber(number);
      const client = await connect(options.corporateUrl);
      const found = await client.showCorporation({ params: { corporateNumber }, query: { history: 'true' } });
      if (options.json) {
        console.log(JSON.stringify(found, null, 2));
        return;
      }
      console.log(
        table(
          ['項目 Field', '内容 Value'],
          [
            ['法人番号 Corporate Number', formatCorporateNumber(found.corporateNumber)],
            ['商号又は名称 Name', found.name],
            ...(found.furigana ? [['フリガナ', found.furigana]] : []),
            ...(found.enName ? [['English name', found.enName]] : []),
            ['法人種別 Kind', `${found.kind} ${CORPORATION_KINDS[found.kind]}`],
            ['所在地 Head office', address(found)],
            ['法人番号指定年月日 Designated', found.assignmentDate],
            ...(found.closeDate
              ? [
                  [
                    '閉鎖 Closed',
                    `${found.closeDate} ${found.closeCause ? CLOSE_CAUSES[found.closeCause] : ''}${
                      found.successorCorporateNumber ? ` → ${found.successorCorporateNumber}` : ''
                    }`,
                  ],
                ]
              : []),
          ],
        ),
      );
      const history = found.history ?? [];
      if (history.length > 1) {
        console.log('\n変更履歴 History');
        console.log(
          table(
            ['変更年月日 Changed', '処理区分 Change', '商号又は名称 Name', '所在地 Head office'],
            history.map((e) => [
              e.changeDate,
              `${PROCESS_KINDS[e.process]}${e.correction ? '（訂正）' : ''}`,
              e.name,
              address(e),
            ]),
          ),
        );
      }
    });

  corporate
    .command('search <name>')
    .description('corporations whose name, フリガナ or English name contains <name> (kana-insensitive)')
    .option('--corporate-url <url>', 'the corporate-number service', DEFAULT_URL)
    .option('--prefecture <code>', 'only this prefecture (JIS code, 01–47)')
    .option('--include-closed', 'also corporations that are closed')
    .option('--limit <n>', 'at most this many (1–1000)', '50')
    .action(
      async (
        name: string,
        options: { corporateUrl: string; prefecture?: string; includeClosed?: boolean; limit: string },
      ) => {
        const client = await connect(options.corporateUrl);
        const page = await client.searchCorporations({
          query: {
            name,
            limit: options.limit,
            ...(options.prefecture === undefined ? {} : { prefectureCode: options.prefecture }),
            ...(options.includeClosed ? { includeClosed: 'true' } : {}),
          },
        });
        if (page.corporations.length === 0) {
          console.log(`No corporation's name contains "${name}".`);
          return;
        }
        console.log(
          table(
            ['法人番号 Corporate Number', '商号又は名称 Name', '所在地 Head office', ''],
            page.corporations.map((c) => [
              c.corporateNumber,
              c.name,
              address(c),
              c.closeDate ? `閉鎖 ${c.closeDate}` : '',
            ]),
          ),
        );
        if (page.next !== undefined) console.log(`More match; narrow the search or raise --limit.`);
      },
    );

  corporate
    .command('changes')
    .description('the changes (designations, renames, moves, closures) effective in a period')
    .option('--corporate-url <url>', 'the corporate-number service', DEFAULT_URL)
    .requiredOption('--from <date>', 'first day, YYYY-MM-DD')
    .requiredOption('--to <date>', 'last day, YYYY-MM-DD')
    .action(async (options: { corporateUrl: string; from: string; to: string }) => {
      const client = await connect(options.corporateUrl);
      const rows: CorporationEntry[] = [];
      let after: number | undefined;
      do {
        const page = await client.listChanges({
          query: {
            from: options.from,
            to: options.to,
            limit: 1000,
            ...(after === undefined ? {} : { after }),
          },
        });
        rows.push(...page.entries);
        after = page.next;
      } while (after !== undefined && rows.length < 10_000);
      if (rows.length === 0) {
        console.log(`No change between ${options.from} and ${options.to}.`);
        return;
      }
      console.log(
        table(
          ['変更年月日 Changed', '法人番号 Corporate Number', '処理区分 Change', '商号又は名称 Name'],
          rows.map((e) => [e.changeDate, e.corporateNumber, PROCESS_KINDS[e.process], e.name]),
        ),
      );
      if (after !== undefined) console.log('More than 10,000 changes: narrow the period, or use the API.');
    });

  corporate
    .command('download')
    .description('every corporation, as the documented CSV (README), into a file')
    .option('--corporate-url <url>', 'the corporate-number service', DEFAULT_URL)
    .requiredOption('--out <file>', 'the CSV file to write (must not exist)')
    .option('--encoding <name>', 'utf-8 or shift_jis (the NTA offers both)', 'utf-8')
    .option('--prefecture <code>', 'only this prefecture (JIS code, 01–47)')
    .action(async (options: { corporateUrl: string; out: string; encoding: string; prefecture?: string }) => {
      const encoding = options.encoding.toLowerCase().replace('-', '_');
      if (encoding !== 'utf_8' && encoding !== 'shift_jis') {
        throw new RenkeiError('ERR_VALIDATION', '--encoding must be utf-8 or shift_jis.');
      }
      const client = await connect(options.corporateUrl);
      await download(
        client,
        options.out,
        encoding === 'shift_jis' ? 'Shift_JIS' : 'utf8',
        options.prefecture,
      );
    });
}

function address(entry: CorporationEntry): string {
  const { prefecture, city, street } = entry.location;
  return `${prefecture}${city}${street}`;
}

/**
 * Page through every corporation into `out`, with a progress bar on a terminal. A name that cannot be
 * written in Shift_JIS (JIS level 1–2) is refused, naming it, rather than written as "?": the file is
 * then removed, so no half-written file is left behind.
 */
async function download(
  client: Client<typeof corporateApi>,
  out: string,
  encoding: 'utf8' | 'Shift_JIS',
  prefectureCode: string | undefined,
): Promise<void> {
  const stream = createWriteStream(out, { flags: 'wx' });
  await once(stream, 'open').catch((error: NodeJS.ErrnoException) => {
    throw new RenkeiError(
      'ERR_VALIDATION',
      error.code === 'EEXIST'
        ? `--out ${out} exists already; give another file name.`
        : `--out ${out} cannot be written (${error.code ?? 'unknown error'}).`,
    );
  });
  const bar = process.stderr.isTTY
    ? new SingleBar({ format: '{value} corporations written' }, Presets.shades_classic)
    : undefined;
  const write = async (text: string, corporateNumber?: string) => {
    const bytes = encoding === 'utf8' ? Buffer.from(text, 'utf8') : iconv.encode(text, 'Shift_JIS');
    if (encoding !== 'utf8' && iconv.decode(bytes, 'Shift_JIS') !== text) {
      throw new RenkeiError(
        'ERR_ENCODING',
        `Corporation ${corporateNumber ?? ''} has a character in its name or address that Shift_JIS cannot hold; download as utf-8. Nothing was kept.`,
      );
    }
    if (!stream.write(bytes)) await once(stream, 'drain');
  };
  let written = 0;
  try {
    bar?.start(0, 0);
    await write(CORPORATION_CSV_HEADER);
    let after: string | undefined;
    do {
      const page = await client.searchCorporations({
        query: {
          includeClosed: 'true',
          limit: 1000,
          ...(prefectureCode === undefined ? {} : { prefectureCode }),
          ...(after === undefined ? {} : { after }),
        },
      });
      for (const c of page.corporations) await write(corporationCsvRow(c), c.corporateNumber);
      written += page.corporations.length;
      bar?.update(written);
      after = page.next;
    } while (after !== undefined);
    stream.end();
    await once(stream, 'finish');
  } catch (error) {
    stream.destroy();
    rmSync(out, { force: true });
    throw error;
  } finally {
    bar?.stop();
  }
  console.log(`${plural(written, 'corporation')} written to ${out}.`);
}
