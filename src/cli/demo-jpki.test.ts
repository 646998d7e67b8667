/**
 * `renkei demo jpki` as a bank's integration engineer runs it: a real child process through
 * bin/renkei.js, its own network, the seeds' bank flow end to end with a real virtual card. Where
 * `/usr/bin/openssl` exists, the certificates the demo writes are checked by OpenSSL against J-LIS's
 * CA bundle and CRLs.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockDirectory } from '../shared/lock.ts';
import { renkei, type Run } from './test-support.ts';

const OPENSSL = '/usr/bin/openssl';
const temp = mkdtempSync(join(tmpdir(), 'renkei-demo-jpki-cli-'));
const out = join(temp, 'out');
let run: Run;
let seconds: number;

beforeAll(async () => {
  const started = Date.now();
  run = await renkei('--data-dir', join(temp, 'data'), 'demo', 'jpki', '--out', out);
  seconds = (Date.now() - started) / 1000;
}, 90_000);
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** The line that starts with `prefix` (a step's number), or ''. */
function line(prefix: string): string {
  return run.stdout.split('\n').find((l) => l.startsWith(prefix)) ?? '';
}
const SERIAL = '[0-9a-f]{16,}';

describe('renkei demo jpki', () => {
  it('runs the bank flow end to end and exits 0, well under a minute', () => {
    expect(run.stderr).not.toContain('failed');
    expect(run.status).toBe(0);
    expect(seconds).toBeLessThan(60);
    expect(run.stdout).toContain('The bank flow ran end to end');
  });

  it('links the signing certificate S at J-LIS and learns the user-authentication certificate R', () => {
    const signed = new RegExp(`^② 電子署名 .*CMS SignedData .* S (${SERIAL})`).exec(line('② '));
    const S = signed?.[1];
    expect(S).toBeDefined();
    expect(line('④ ')).toContain('valid');
    expect(line('⑥ ')).toContain('good');
    expect(line('⑦ ')).toContain(`S ${S} to J-LIS with the holder's signed consent: linked`);
    expect(line('⑧ ')).toMatch(new RegExp(`J-LIS answers R ${SERIAL} \\(valid\\): S ${S} and R linked`));
  });

  it('recognises the later login by R, after refusing a wrong PIN with the tries left', () => {
    const R = new RegExp(`J-LIS answers R (${SERIAL})`).exec(line('⑧ '))?.[1];
    expect(line("④' ")).toContain(`R ${R} is customer 0001, recognised`);
    expect(run.stdout).toContain('ERR_WRONG_PIN, 2 tries left');
  });

  it('after the move, keeps the card in use: the move written on it, a new S onto it, old S → new S with the four information changed', () => {
    const S = new RegExp(`carrying S (${SERIAL})`).exec(line('② '))?.[1];
    expect(run.stdout).toMatch(new RegExp(`S ${S} is revoked \\(move\\)`));
    expect(line('⑤⑥ ')).toContain('revoked (affiliationChanged)');
    const newest = run.stdout.split('\n').find((l) => l.includes('最新性確認 old S')) ?? '';
    expect(newest).toMatch(
      new RegExp(
        `old S ${S} \\(revoked, move\\) → new S ${SERIAL} \\(valid\\): four information changed \\(住所 address\\)`,
      ),
    );
    expect(line('  ・追記 ')).toMatch(/old one kept as 追記 \(address \d{4}-\d{2}-\d{2}\)/);
    const R = new RegExp(`J-LIS answers R (${SERIAL})`).exec(line('⑧ '))?.[1];
    expect(run.stdout).toMatch(
      new RegExp(`issues a new signing certificate onto the same card.*R ${R} unchanged`),
    );
    expect(run.stdout).toContain(`R ${R} is customer 0001, recognised`);
    expect(run.stdout).toContain('A login with the same card after the move');
  });

  it('shows an unregistered relying party refused', () => {
    expect(run.stdout).toMatch(
      /otherbank:business, never registered by J-LIS.*ERR_NOT_REGISTERED_RELYING_PARTY/,
    );
  });

  it('prints neither the Individual Number nor the PIN nor the signing password', () => {
    const db = new Database(join(temp, 'data', 'demo-jpki', 'jlis', 'jlis.sqlite'), { readonly: true });
    const numbers = db.prepare('select individual_number from residents').all() as {
      individual_number: string;
    }[];
    db.close();
    expect(numbers).toHaveLength(1);
    const printed = `${run.stdout}${run.stderr}`;
    expect(printed).not.toContain(numbers[0]!.individual_number);
    expect(printed).not.toMatch(/\b4321\b/);
    expect(printed).not.toContain('KASUMI2026');
    expect(printed).not.toContain('NAKANOSHIMA2026');
  });

  it('refuses to run while another demo jpki uses the data directory, deleting nothing', async () => {
    const database = join(temp, 'data', 'demo-jpki', 'jlis', 'jlis.sqlite');
    const held = lockDirectory(join(temp, 'data'), 'demo-jpki');
    try {
      const second = await renkei('--data-dir', join(temp, 'data'), 'demo', 'jpki');
      expect(second.status).toBe(1);
      expect(second.stderr).toContain('ERR_DATA_DIR_IN_USE');
      expect(existsSync(database)).toBe(true);
    } finally {
      held.release();
    }
  });

  it.skipIf(!existsSync(OPENSSL))(
    'writes certificates that openssl verify accepts against the CA bundle, the revoked ones refused with the CRLs',
    async () => {
      expect(readdirSync(out).sort()).toEqual([
        'card-authentication.pem',
        'card-signing-new.pem',
        'card-signing-old.pem',
        'crl-authentication.pem',
        'crl-signing.pem',
        'jpki-ca-bundle.pem',
      ]);
      const verify = (crl: boolean, name: string) =>
        openssl(
          'verify',
          ...(crl ? ['-crl_check', '-CRLfile', join(out, 'crl-signing.pem')] : []),
          ...(crl ? ['-CRLfile', join(out, 'crl-authentication.pem')] : []),
          '-CAfile',
          join(out, 'jpki-ca-bundle.pem'),
          join(out, name),
        );
      for (const name of ['card-signing-old.pem', 'card-signing-new.pem', 'card-authentication.pem']) {
        expect(await verify(false, name)).toMatchObject({ code: 0 });
      }
      // The new S and the card's R are in force; the old S was revoked by the move.
      for (const name of ['card-signing-new.pem', 'card-authentication.pem']) {
        expect(await verify(true, name)).toMatchObject({ code: 0 });
      }
      const refused = await verify(true, 'card-signing-old.pem');
      expect(refused.code).not.toBe(0);
      expect(refused.output).toContain('certificate revoked');
    },
  );
  if (!existsSync(OPENSSL))
    console.warn(`renkei demo jpki: OpenSSL checks skipped, ${OPENSSL} is not installed.`);
});

function openssl(...args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(OPENSSL, args, { encoding: 'utf8', timeout: 20_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}
