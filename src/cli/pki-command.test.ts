/**
 * `renkei pki` as the network operator runs it: a real child process through bin/renkei.js, on a
 * temporary data directory.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renkei } from './test-support.ts';

const dataDir = mkdtempSync(join(tmpdir(), 'renkei-pki-cli-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));
const pki = (...args: string[]) => renkei('--data-dir', dataDir, 'pki', ...args);

describe('renkei pki', () => {
  it('says to run `renkei pki init` when the data directory has no PKI yet', async () => {
    const run = await pki('list');
    expect(run.status).toBe(1);
    expect(run.stderr.trim()).toBe(
      'ERR_NO_PKI: There is no PKI in this data directory yet; run `renkei pki init` first.',
    );
  });

  it('creates the PKI, issues a party, lists it and revokes it', async () => {
    const init = await pki('init');
    expect(init.status).toBe(0);
    expect(init.stdout).toContain(`PKI created in ${join(dataDir, 'pki')}.`);
    expect(statSync(join(dataDir, 'pki', 'root', 'key.pem')).mode & 0o777).toBe(0o600);

    const issue = await pki(
      'issue',
      '--party',
      '131016',
      '--role',
      'institution',
      '--host',
      'localhost',
      '--host',
      '127.0.0.1',
    );
    expect(issue.status).toBe(0);
    expect(issue.stdout).not.toContain('It had certificates already');
    const serial = /identity\s*│ ([0-9a-f]{32}) /.exec(issue.stdout)?.[1];
    expect(serial).toBeDefined();
    const encryptionSerial = /encryption\s*│ ([0-9a-f]{32}) /.exec(issue.stdout)?.[1];

    // Issued again (a renewal): the earlier encryption key is kept, and the earlier identity named.
    const renewed = await pki('issue', '--party', '131016', '--role', 'institution');
    expect(renewed.status).toBe(0);
    const retired = join(
      dataDir,
      'pki',
      'parties',
      '131016',
      'retired-encryption-keys',
      `${encryptionSerial ?? ''}-key.pem`,
    );
    expect(renewed.stdout).toContain(`is kept in ${retired}`);
    expect(statSync(retired).mode & 0o777).toBe(0o600);
    expect(renewed.stdout).toContain(`renkei pki revoke --serial ${serial ?? ''} --reason superseded`);

    const listed = await pki('list');
    expect(listed.stdout).toMatch(
      new RegExp(`131016\\s*│ institution │ identity\\s*│ ${serial} │ \\d{4}-\\d\\d-\\d\\d │ valid`),
    );
    expect(listed.stdout).toContain('5 certificates.');

    const revoke = await pki('revoke', '--serial', serial!.toUpperCase(), '--reason', 'keyCompromise');
    expect(revoke.status).toBe(0);
    expect(revoke.stdout).toContain(`Revoked the identity certificate of 131016, serial ${serial}.`);
    expect(revoke.stdout).toContain('Published CRL number 2.');
  });

  it('refuses, in one line, a second init, an unknown reason, and a revoke naming two targets', async () => {
    const [again, reason, both] = await Promise.all([
      pki('init'),
      pki('revoke', '--party', '131016', '--reason', 'bored'),
      pki('revoke', '--party', '131016', '--serial', '01', '--reason', 'superseded'),
    ]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/^ERR_PKI_EXISTS: /);
    expect(reason.status).toBe(1);
    expect(reason.stderr).toContain(
      "error: option '--reason <reason>' argument 'bored' is invalid. Allowed choices are",
    );
    expect(both.status).toBe(1);
    expect(both.stderr.trim()).toBe(
      'ERR_VALIDATION: Give either --serial or --party (one of them, not both).',
    );
  });
});
