/**
 * `renkei card` as a clerk runs it: a real child process against J-LIS over real HTTP (plain, without
 * the trust layer; J-LIS's own JPKI CA), the PINs typed on standard input.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_KDF, VirtualCard } from '../card/virtual-card.ts';
import { createJlis, jpkiStoreOf } from '../nodes/jlis/jlis.ts';
import { openJpkiAuthority } from '../nodes/jlis/jpki/authority.ts';
import { createKyselyJlisStore, type JlisDatabase } from '../nodes/jlis/kysely-store.ts';
import { migrateJlisDatabase } from '../nodes/jlis/migrations.ts';
import { createClient } from '../protocol/api.ts';
import { httpTransport } from '../protocol/http-transport.ts';
import { coreApi } from '../protocol/routes.ts';
import { jstDate, systemClock } from '../shared/clock.ts';
import { nodeDatabase, openDatabase } from '../shared/db.ts';
import { listen } from '../shared/http.ts';
import { silentLogger } from '../shared/logger.ts';
import { BIN, type Run } from './test-support.ts';

let dir: string;
let db: Kysely<JlisDatabase>;
let jlis: ReturnType<typeof createJlis>;
let url: string;
const transport = httpTransport();

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'renkei-card-cli-'));
  db = await openDatabase<JlisDatabase>(nodeDatabase(undefined, join(dir, 'jlis.sqlite'), 'jlis'));
  await migrateJlisDatabase(db);
  jlis = createJlis({
    store: createKyselyJlisStore(db),
    clock: systemClock,
    logger: silentLogger(),
    core: createClient(coreApi, { transport, baseUrl: 'http://127.0.0.1:9', peer: 'core' }),
    jpki: {
      authority: await openJpkiAuthority({ dir: join(dir, 'jpki'), clock: systemClock }),
      store: jpkiStoreOf(db),
    },
    cardKdf: TEST_KDF,
  });
  url = await listen(jlis.app, 0);
});

afterAll(async () => {
  await jlis.app.close();
  await transport.close();
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

function card(stdin: string, ...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [BIN, 'card', ...args, '--jlis-url', url],
      { encoding: 'utf8', timeout: 60_000 },
      (error, stdout, stderr) => {
        const status = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ status, stdout, stderr });
      },
    );
    child.stdin?.end(stdin);
  });
}

// Each test runs four or five `renkei card` processes one after another, each a cold start of the CLI:
// about 5 s alone, 11 to 30 s while the suite's other files share the two cores.
describe('renkei card', { timeout: 90_000 }, () => {
  it('takes a card from application to delivery at the counter, writing the card file and showing its record', async () => {
    const registered = await fetch(new URL('/admin/v1/residents', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: '番号 花子',
        address: '東京都千代田区霞が関2-1-2',
        dateOfBirth: '1998-03-31',
        sex: 'female',
      }),
    });
    const { residentRecordCode } = (await registered.json()) as { residentRecordCode: string };

    const applied = await card(
      '',
      'apply',
      '--resident-record-code',
      residentRecordCode,
      '--clerk',
      'clerk-07',
    );
    expect(applied.status, applied.stderr).toBe(0);
    const cardId = /card id\s*│\s*([0-9A-F]{16})/.exec(applied.stdout)?.[1] ?? '';
    expect(cardId).toMatch(/^[0-9A-F]{16}$/);

    const file = join(dir, 'hanako.card');
    const issued = await card('1234\nABC123\n', 'issue', '--card-id', cardId, '--out', file);
    expect(issued.status, issued.stderr).toBe(0);
    expect(issued.stdout).toMatch(/state\s*│\s*issued/);
    expect(issued.stdout).not.toContain('1234');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const opened = VirtualCard.open(file);
    expect((await opened.readCardFace('1234')).name).toBe('番号 花子');
    await opened.signWithSigningKey('ABC123', new Uint8Array([1]));

    expect((await card('', 'deliver', '--card-id', cardId)).status).toBe(0);
    const again = await card('', 'deliver', '--card-id', cardId);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^ERR_CARD_STATE: /);

    const overwrite = await card('1234\n\n', 'issue', '--card-id', cardId, '--out', file);
    expect(overwrite.stderr).toMatch(/exists already/);

    const shown = await card('', 'show', '--card-id', cardId);
    expect(shown.status).toBe(0);
    expect(shown.stdout).toMatch(/delivered/);
    expect(shown.stdout).toMatch(/refused \(ERR_CARD_STATE\)/);
    expect(shown.stdout).toContain('clerk-07');
  });

  it('writes a move on the card and issues a new signing certificate onto it, the PIN and password typed', async () => {
    const post = async (path: string, body: unknown) =>
      (await fetch(new URL(path, url), {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then((r) => r.json())) as Record<string, unknown>;
    const { residentRecordCode } = (await post('/admin/v1/residents', {
      name: '転居 次郎',
      address: '東京都千代田区霞が関2-1-2',
      dateOfBirth: '1985-07-01',
      sex: 'male',
    })) as { residentRecordCode: string };
    const applied = await card('', 'apply', '--resident-record-code', residentRecordCode);
    const cardId = /card id\s*│\s*([0-9A-F]{16})/.exec(applied.stdout)?.[1] ?? '';
    const file = join(dir, 'jiro.card');
    expect((await card('2468\nJIRO2026\n', 'issue', '--card-id', cardId, '--out', file)).status).toBe(0);
    expect((await card('', 'deliver', '--card-id', cardId)).status).toBe(0);
    const S = /signing certificate\s*│\s*([0-9a-f]+)/.exec(
      (await card('', 'show', '--card-id', cardId)).stdout,
    )?.[1];

    const unchanged = await card('2468\n', 'endorse', '--card-id', cardId, '--card', file);
    expect(unchanged.status).toBe(1);
    expect(unchanged.stderr).toMatch(/^ERR_CARD_STATE: /);

    await post('/admin/v1/resident-changes', {
      residentRecordCode,
      change: 'move_in',
      effectiveDate: jstDate(systemClock.now()),
      address: '大阪府大阪市北区中之島1丁目3番20号',
    });
    const endorsed = await card(
      '2468\n',
      'endorse',
      '--card-id',
      cardId,
      '--card',
      file,
      '--clerk',
      'clerk-08',
    );
    expect(endorsed.status, endorsed.stderr).toBe(0);
    expect(endorsed.stdout).not.toMatch(/\b2468\b/);
    const face = await VirtualCard.open(file).readCardFace('2468');
    expect(face.address).toBe('大阪府大阪市北区中之島1丁目3番20号');
    expect(face.endorsements?.map((e) => e.previous)).toEqual(['東京都千代田区霞が関2-1-2']);

    const signed = await card(
      'OSAKA2026\n',
      'issue-signing-certificate',
      '--card-id',
      cardId,
      '--card',
      file,
    );
    expect(signed.status, signed.stderr).toBe(0);
    expect(signed.stdout).not.toContain('OSAKA2026');
    const S2 = /signing certificate\s*│\s*([0-9a-f]+)/.exec(signed.stdout)?.[1];
    expect(S2).toMatch(/^[0-9a-f]+$/);
    expect(S2).not.toBe(S);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await VirtualCard.open(file).signWithSigningKey('OSAKA2026', new Uint8Array([1]));
  });
  it('suspends a lost card, saying its certificates are on hold, and lifts it, saying they are valid again, the card file unchanged', async () => {
    const registered = await fetch(new URL('/admin/v1/residents', url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        name: '紛失 三郎',
        address: '東京都千代田区霞が関2-1-2',
        dateOfBirth: '1979-11-03',
        sex: 'male',
      }),
    });
    const { residentRecordCode } = (await registered.json()) as { residentRecordCode: string };
    const applied = await card('', 'apply', '--resident-record-code', residentRecordCode);
    const cardId = /card id\s*│\s*([0-9A-F]{16})/.exec(applied.stdout)?.[1] ?? '';
    const file = join(dir, 'saburo.card');
    expect((await card('1357\nSABURO26\n', 'issue', '--card-id', cardId, '--out', file)).status).toBe(0);
    expect((await card('', 'deliver', '--card-id', cardId)).status).toBe(0);
    const before = readFileSync(file);

    const suspended = await card('', 'suspend', '--card-id', cardId, '--reason', 'loss');
    expect(suspended.status, suspended.stderr).toBe(0);
    expect(suspended.stdout).toMatch(/certificates\s*│\s*held/);
    expect(suspended.stdout).toContain('on hold (電子証明書の一時保留)');

    // No PIN is asked: the same certificates are released, nothing typed.
    const lifted = await card('', 'lift', '--card-id', cardId, '--card', file, '--clerk', 'clerk-09');
    expect(lifted.status, lifted.stderr).toBe(0);
    expect(lifted.stdout).toMatch(/state\s*│\s*delivered/);
    expect(lifted.stdout).toMatch(/certificates\s*│\s*valid/);
    expect(lifted.stdout).toContain('Certificate hold released');
    expect(readFileSync(file).equals(before)).toBe(true);
  });
});
