/**
 * The commands that talk to a running node (`renkei import`, `renkei codes rotate|reissue`) as an
 * operator runs them against the demo network: wrong files, malformed URLs, the wrong kind of node and
 * a stopped network are each named as such, in one line, with exit code 1.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadLegalTable } from '../domain/legal-table/index.ts';
import { startDemoNetwork, type DemoNetwork } from '../../test/support/demo-network.ts';
import { renkei } from './test-support.ts';

let demo: DemoNetwork;
let coreUrl: string;
let jlisUrl: string;
let institutionUrl: string;
/**
 * A port on which nothing listens: 1 (tcpmux), which no node or test binds. A port found free and then
 * closed was once taken meanwhile by another test's node, which answered ERR_TLS_REQUIRED.
 */
const closedUrl = 'http://127.0.0.1:1';
const temp = mkdtempSync(join(tmpdir(), 'renkei-node-cli-'));

beforeAll(async () => {
  demo = await startDemoNetwork('node-cli');
  coreUrl = demo.network.core.url;
  jlisUrl = demo.network.jlis.url;
  institutionUrl = demo.network.institutions.get('131041')!.url;
});
afterAll(async () => {
  await demo?.dispose();
  rmSync(temp, { recursive: true, force: true });
});

/** The command as a user of the demo network runs it: `--data-dir` holds the network's credentials. */
function cli(...args: string[]) {
  return renkei('--data-dir', demo.dir, ...args);
}

/** The copies of item `itemNo` that 新宿区's intermediate server holds: addressee number → data. */
function shinjukuCopies(itemNo: number): Map<string, Record<string, unknown>> {
  const db = new Database(join(demo.dir, 'institutions', '131041', 'intermediate.sqlite'), {
    readonly: true,
  });
  try {
    const rows = db.prepare('SELECT addressee_number, data FROM copies WHERE item_no = ?').all(itemNo) as {
      addressee_number: string;
      data: string;
    }[];
    return new Map(rows.map((r) => [r.addressee_number, JSON.parse(r.data) as Record<string, unknown>]));
  } finally {
    db.close();
  }
}

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));

function file(name: string, text: string | Uint8Array): string {
  const path = join(temp, name);
  writeFileSync(path, text);
  return path;
}

describe('renkei import: the file', () => {
  it('refuses a missing file in one line, before anything else, with exit code 1', async () => {
    const run = await cli('import', '--institution-url', 'localhost:7110', '--file', 'copies.csv');
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe('ERR_VALIDATION: --file copies.csv: no such file');
  });

  it('refuses a directory as a directory, not as a file of unknown format', async () => {
    const dir = join(temp, 'copies.csv');
    mkdirSync(dir, { recursive: true });
    const run = await cli('import', '--institution-url', institutionUrl, '--file', dir);
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(`ERR_VALIDATION: --file ${dir}: is a directory, not a file`);
    const plain = join(temp, 'exports');
    mkdirSync(plain, { recursive: true });
    const unnamed = await cli('import', '--institution-url', institutionUrl, '--file', plain);
    expect(unnamed.stderr.trim()).toBe(`ERR_VALIDATION: --file ${plain}: is a directory, not a file`);
  });

  it('says a JSON file of the wrong shape is wrong as a whole, not at an "entry 0"', async () => {
    const path = file('wrong-shape.json', '{"rows": []}');
    const run = await cli('import', '--institution-url', institutionUrl, '--file', path);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${path}: nothing was sent.`);
    expect(run.stderr).toMatch(/^ {2}the file: expected .*array of copies/m);
    expect(run.stderr).not.toContain('entry 0');
    expect(run.stderr).not.toContain('bad row(s)');
  });

  it('counts bad entries of a JSON file from 1, in proper English', async () => {
    const path = file('one-bad.json', '[{"addresseeNumber": "x", "itemNo": 2, "data": {}}]');
    const run = await cli('import', '--institution-url', institutionUrl, '--file', path);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`${path}: 1 bad entry; nothing was sent.`);
    expect(run.stderr).toMatch(/^ {2}entry 1: /m);
  });
});

describe('renkei import: encodings and fixed-length records', () => {
  it("loads the README's Shift_JIS example as written, saying it detected Shift_JIS", async () => {
    const run = await cli(
      'import',
      '--institution-url',
      institutionUrl,
      '--file',
      join(EXAMPLES, 'copies.csv'),
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/copies\.csv\s*│ csv\s*│ Shift_JIS \(CP932\) \(detected\)\s*│ 2\s*│/);
    const taro = demo.world.addresseeNumber('yamada-taro', '131041');
    expect(shinjukuCopies(1).get(taro)).toMatchObject({
      relationshipToHead: '世帯主',
      residenceStatus: 'moved_out',
    });
  });

  it('loads the fixed-length Shift_JIS example with its layout file', async () => {
    const run = await cli(
      'import',
      '--institution-url',
      institutionUrl,
      '--file',
      join(EXAMPLES, 'copies-fixed.dat'),
      '--layout',
      join(EXAMPLES, 'copies-fixed.layout.yaml'),
    );
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/fixed-length\s*│ Shift_JIS \(CP932\)\s*│ 2\s*│/);
    const hanako = demo.world.addresseeNumber('yamada-hanako', '131041');
    expect(shinjukuCopies(1).get(hanako)).toEqual({
      relationshipToHead: '妻',
      householdMembers: 3,
      moveInDate: '2016-04-01',
      residenceStatus: 'moved_out',
    });
  });

  it('refuses a Shift_JIS file declared UTF-8 in one line naming the row, and sends none of it', async () => {
    const sakura = demo.world.addresseeNumber('ito-sakura', '131041');
    const taro = demo.world.addresseeNumber('yamada-taro', '131041');
    const before = shinjukuCopies(1);
    const path = file(
      'declared-wrong.csv',
      iconv.encode(
        [
          'addresseeNumber,itemNo,relationshipToHead,householdMembers,residenceStatus',
          `${taro},1,head,1,resident`, // ASCII only: it reads the same in either encoding
          `${sakura},1,長女,1,resident`,
        ].join('\r\n'),
        'cp932',
      ),
    );
    const run = await cli(
      'import',
      '--institution-url',
      institutionUrl,
      '--file',
      path,
      '--encoding',
      'utf-8',
    );
    expect(run.status).toBe(1);
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(
      new RegExp(
        `^ERR_ENCODING: --file ${path}: Line 3 is not valid UTF-8\\. .*--encoding shift_jis.* Nothing was sent\\.$`,
        'm',
      ),
    );
    expect(run.stderr).not.toContain(sakura);
    expect(shinjukuCopies(1)).toEqual(before);
    expect(before.has(sakura)).toBe(false);

    // Auto-detected, the same file imports, and the kanji arrive as written.
    const auto = await cli('import', '--institution-url', institutionUrl, '--file', path);
    expect(auto.status).toBe(0);
    expect(auto.stdout).toContain('Shift_JIS (CP932) (detected)');
    expect(shinjukuCopies(1).get(sakura)?.relationshipToHead).toBe('長女');
    expect(shinjukuCopies(1).get(taro)?.relationshipToHead).toBe('head');
  });

  it('refuses an unknown --encoding as an option mistake', async () => {
    const run = await cli(
      'import',
      '--institution-url',
      institutionUrl,
      '--file',
      join(EXAMPLES, 'copies.csv'),
      '--encoding',
      'euc-jp',
    );
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(
      'ERR_VALIDATION: --encoding must be one of auto, utf-8, utf-8-bom, shift_jis, cp932.',
    );
  });
});

describe('node URLs', () => {
  const json = () => file('copies.json', '[]');

  it('refuses a URL without http:// or https:// as a malformed option, not an unreachable node', async () => {
    const [run, rotate, reissue] = await Promise.all([
      cli('import', '--institution-url', 'localhost:7110', '--file', json()),
      cli('codes', 'rotate', '--core-url', '127.0.0.1:7100', '--institution', '152048'),
      cli('codes', 'reissue', '--institution-url', 'ftp://127.0.0.1:7110'),
    ]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(
      'ERR_VALIDATION: --institution-url must be a URL such as http://127.0.0.1:7110',
    );
    expect(run.stderr).not.toContain('could not be reached');
    expect(rotate.status).toBe(1);
    expect(rotate.stderr).toContain('ERR_VALIDATION: --core-url must be a URL such as http://127.0.0.1:7100');
    expect(reissue.status).toBe(1);
    expect(reissue.stderr).toContain(
      'ERR_VALIDATION: --institution-url must be a URL such as http://127.0.0.1:7110',
    );
  });

  it('names the kind of node a command was pointed at when it is the wrong one', async () => {
    const [atCore, atJlis, rotate] = await Promise.all([
      cli('import', '--institution-url', coreUrl, '--file', json()),
      cli('codes', 'reissue', '--institution-url', jlisUrl),
      cli('codes', 'rotate', '--core-url', institutionUrl, '--institution', '152048'),
    ]);
    expect(atCore.status).toBe(1);
    expect(atCore.stderr.trim()).toBe(
      `ERR_VALIDATION: ${coreUrl} is the core, not an institution node; give the institution's URL (npm start prints them).`,
    );
    expect(atCore.stderr).not.toContain('ERR_ROUTE_NOT_FOUND');
    expect(atJlis.status).toBe(1);
    expect(atJlis.stderr).toContain(`ERR_VALIDATION: ${jlisUrl} is J-LIS, not an institution node`);
    expect(rotate.status).toBe(1);
    expect(rotate.stderr.trim()).toBe(
      `ERR_VALIDATION: ${institutionUrl} is the institution node 131041, not the core; give the core's URL (npm start prints it).`,
    );
  });

  it('names the URL it tried and the next step when nothing answers there', async () => {
    const [run, rotate] = await Promise.all([
      cli('import', '--institution-url', closedUrl, '--file', json()),
      cli('codes', 'rotate', '--core-url', closedUrl, '--institution', '152048'),
    ]);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain(`could not be reached at ${closedUrl}`);
    expect(run.stderr).toContain(
      `is the network running (npm start)? GET ${closedUrl}/healthz should answer.`,
    );
    expect(rotate.status).toBe(1);
    expect(rotate.stderr).toContain(
      `ERR_UPSTREAM_UNAVAILABLE: The core could not be reached at ${closedUrl}`,
    );
  });

  it('refuses a server that answers, but not as a Renkei node', async () => {
    const server = createHttpServer((_request, response) => response.writeHead(404).end('Not Found'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    try {
      const run = await cli('codes', 'reissue', '--institution-url', url);
      expect(run.status).toBe(1);
      expect(run.stderr.trim()).toBe(
        `ERR_VALIDATION: ${url} answered GET /healthz with HTTP 404: it is not a Renkei node; give the institution's URL (npm start prints them).`,
      );
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('goes ahead against the right kind of node', async () => {
    const layout = loadLegalTable().layoutFor(2, new Date());
    const copies = file(
      'good.json',
      JSON.stringify([
        {
          addresseeNumber: demo.world.addresseeNumber('ito-sakura', '131041'),
          itemNo: 2,
          data: layout?.example,
        },
      ]),
    );
    const [imported, reissued] = await Promise.all([
      cli('import', '--institution-url', institutionUrl, '--file', copies),
      cli('codes', 'reissue', '--institution-url', `${institutionUrl}/`),
    ]);
    expect(imported.stderr).toBe('');
    expect(imported.status).toBe(0);
    expect(imported.stdout).toMatch(/good\.json\s*│ json\s*│ UTF-8 \(detected\)\s*│ 1\s*│ 1\s*│ 1\s*│/);
    expect(reissued.stderr).toBe('');
    expect(reissued.status).toBe(0);
    expect(reissued.stdout).toContain('Re-keying is complete');
  });
});
