/**
 * The `renkei legal` command as the network operator runs it: a real child process through bin/renkei.js.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_LEGAL_DIR, loadLegalTable } from '../domain/legal-table/index.ts';

const BIN = fileURLToPath(new URL('../../bin/renkei.js', import.meta.url));

function renkei(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const temp = mkdtempSync(join(tmpdir(), 'renkei-legal-cli-'));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

describe('renkei legal', () => {
  it('checks the repository legal/ with exit code 0, printing counts and the digest', () => {
    const run = renkei('legal', 'check');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('is valid');
    expect(run.stdout).toMatch(/clauses \(項\)\s*│ [1-9]\d*\s*│ \d+/);
    expect(run.stdout).toMatch(/layout versions/);
    expect(run.stdout).toContain(`Digest (sha-256): ${loadLegalTable().digest}`);
    const { warnings } = loadLegalTable();
    if (warnings.length > 0) expect(run.stdout).toContain('Notes (valid, but probably not intended):');
    for (const warning of warnings) expect(run.stdout).toContain(`  - ${warning}`);
    expect(run.stdout + run.stderr).not.toContain('Warning');
  });

  it('prints what is valid but probably not intended as notes under a heading, not as warnings', () => {
    const dir = join(temp, 'unaskable-item');
    cpSync(DEFAULT_LEGAL_DIR, dir, { recursive: true });
    // An item no clause provision lists: valid, but no inquiry can ask for it.
    const path = join(dir, 'items.yaml');
    writeFileSync(
      path,
      `${readFileSync(path, 'utf8')}
- itemNo: 998
  name: 試験用の情報
  nameEn: an item for this test
  modelled: false
  layouts:
    - version: '2019.07'
      effectiveFrom: '2019-07-01'
      fields:
        - { name: amount, label: 金額, labelEn: Amount, type: integer, required: true, min: 0 }
      example: { amount: 1 }
`,
    );

    const run = renkei('legal', 'check', '--dir', dir);
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(
      /^Notes \(valid, but probably not intended\):\n(?: {2}- .*\n)* {2}- .*item 998: /m,
    );
    expect(run.stdout + run.stderr).not.toContain('Warning');
  });

  it('refuses a broken legal/ with exit code 1, ERR_CONFIG_INVALID and the file and entry to fix', () => {
    const dir = join(temp, 'broken');
    cpSync(DEFAULT_LEGAL_DIR, dir, { recursive: true });
    const path = join(dir, 'procedures.yaml');
    const text = readFileSync(path, 'utf8');
    writeFileSync(
      path,
      text.replace("procedureId: '074-01'\n  clauseNo: '74'", "procedureId: '074-01'\n  clauseNo: '999'"),
    );

    const run = renkei('legal', 'check', '--dir', dir);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('ERR_CONFIG_INVALID: legal/procedures.yaml: procedure 074-01');
    expect(run.stderr).toContain('clause 999 is not defined');
    expect(run.stdout).not.toContain('is valid');
  });

  it('lists the procedures under one clause with the attachments they make unnecessary', () => {
    const run = renkei('legal', 'procedures', '--clause', '74');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('074-01');
    // Each attachment with the items that replace it.
    expect(run.stdout).toContain('課税証明書 ← [2]');
    expect(run.stdout).toContain('住民票 ← [1]');
    expect(run.stdout).not.toContain('057-01');
  });

  it('lists every procedure without --clause, and refuses an unknown clause with exit code 1', () => {
    const all = renkei('legal', 'procedures');
    expect(all.status).toBe(0);
    expect(all.stdout).toContain(`${loadLegalTable().procedures.length} procedures.`);

    const unknown = renkei('legal', 'procedures', '--clause', '999');
    expect(unknown.status).toBe(1);
    expect(unknown.stderr).toContain('ERR_UNKNOWN_CLAUSE');
    // …and says how to see the clauses there are.
    expect(unknown.stderr).toContain('`renkei legal procedures` without --clause lists');
  });

  it('reads a clause number with leading zeros as the legal table writes it: 074 is 74', () => {
    const run = renkei('legal', 'procedures', '--clause', '074');
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('074-01');
    expect(run.stdout).not.toContain('057-01');
  });

  it('prints the diff between two directories: a changed procedure with its field, before and after', () => {
    const dir = join(temp, 'revised');
    cpSync(DEFAULT_LEGAL_DIR, dir, { recursive: true });
    const path = join(dir, 'procedures.yaml');
    writeFileSync(path, readFileSync(path, 'utf8').replace('appliedTo: 市町村', 'appliedTo: 市区町村'));
    const run = renkei('legal', 'diff', DEFAULT_LEGAL_DIR, dir);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Procedures (事務手続)');
    expect(run.stdout).toMatch(/~ procedure \d{3}-\d{2} /);
    expect(run.stdout).toContain('appliedTo: 市町村 → 市区町村');
    const none = renkei('legal', 'diff', 'not-a-dir-nor-digest!', dir);
    expect(none.status).toBe(1);
    expect(none.stderr).toContain('neither a directory nor a digest');
  });
});
