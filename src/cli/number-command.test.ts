/**
 * The `renkei number` command as a person runs it: a real child process through bin/renkei.js.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { isCorporateNumber } from '../domain/identifiers/corporate-number.ts';
import { isIndividualNumber } from '../domain/identifiers/individual-number.ts';
import { renkei as run } from './test-support.ts';

const BIN = fileURLToPath(new URL('../../bin/renkei.js', import.meta.url));

function renkei(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('renkei number', () => {
  it('accepts a valid Individual Number typed in groups, unquoted, with exit code 0', () => {
    const run = renkei('number', 'check', '1234', '5678', '9018');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Valid Individual Number');
  });

  it('refuses a wrong check digit with exit code 1 and the reason, without echoing the number', () => {
    const run = renkei('number', 'check', '123456789017');
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('ERR_INVALID_CHECK_DIGIT');
    expect(run.stderr).toContain('check digit does not match');
    expect(run.stdout + run.stderr).not.toContain('12345678901');
  });

  it('accepts full-width digits and spaces', () => {
    const run = renkei('number', 'check', '１２３４　５６７８　９０１８');
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('Valid Individual Number');
  });

  it('reads 13 digits as a Corporate Number', () => {
    expect(renkei('number', 'check', '7-0000-1205-0002').status).toBe(0);
    const wrong = renkei('number', 'check', '8000012050002');
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain('Corporate Number');
  });

  it('names the position of a character that is not a digit, and a wrong length', () => {
    const letter = renkei('number', 'check', '1234x5678901');
    expect(letter.status).toBe(1);
    expect(letter.stderr).toContain('Character 5 is not a digit.');
    const short = renkei('number', 'check', '12345');
    expect(short.status).toBe(1);
    expect(short.stderr).toContain('this has 5');
  });

  it('generates valid numbers of the kind asked for', () => {
    const individual = renkei('number', 'generate', '--count', '3');
    expect(individual.status).toBe(0);
    const numbers = individual.stdout.trim().split('\n');
    expect(numbers).toHaveLength(3);
    for (const n of numbers) expect(isIndividualNumber(n)).toBe(true);

    const corporate = renkei('number', 'generate', '--kind', 'corporate');
    expect(corporate.status).toBe(0);
    expect(isCorporateNumber(corporate.stdout.trim())).toBe(true);
  });

  it('takes --count in plain decimal digits only, refusing 1e2 and 0x10 as the other options do', async () => {
    const counts = ['1e2', '0x10', ' 12'];
    const runs = await Promise.all(counts.map((count) => run('number', 'generate', '--count', count)));
    runs.forEach((result, i) => {
      expect(result.status, counts[i]).toBe(1);
      expect(result.stderr, counts[i]).toContain(
        'ERR_VALIDATION: --count must be a whole number from 1 to 10000.',
      );
      expect(result.stdout, counts[i]).toBe('');
    });
  });
});
