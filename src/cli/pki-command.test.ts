/**
 * `renkei pki` as the network operator runs it: a real child process through bin/renkei.js, on a
 * temporary data directory.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { x509 } from '../trust/pki/x509.ts';
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

    // Renewed: the same role and hosts, the earlier encryption key kept, the earlier identity named.
    const [renewed, unknown] = await Promise.all([
      pki('renew', '--party', '131016'),
      pki('renew', '--party', '131017'),
    ]);
    expect(renewed.status).toBe(0);
    expect(renewed.stdout).toContain('Issued for 131016 (institution):');
    const renewedCert = new x509.X509Certificate(
      readFileSync(join(dataDir, 'pki', 'parties', '131016', 'identity-cert.pem'), 'utf8'),
    );
    expect(renewedCert.getExtension(x509.SubjectAlternativeNameExtension)?.names.toJSON()).toEqual([
      { type: 'dns', value: 'localhost' },
      { type: 'ip', value: '127.0.0.1' },
      { type: 'url', value: 'urn:renkei:party:131016' },
    ]);
    expect(unknown.status).toBe(1);
    expect(unknown.stderr.trim()).toBe(
      'ERR_UNKNOWN_CERTIFICATE: 131017 has no certificate in this PKI to renew; issue one with renkei pki issue --party 131017 --role <role> --host <host>.',
    );
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
