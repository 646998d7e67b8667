/**
 * The CLI's shared output and option helpers.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { RenkeiError } from '../shared/errors.ts';
import { plural, table, textWidth, wholeNumberOption, wrapText } from './output.ts';

describe('wholeNumberOption', () => {
  it('accepts plain decimal digits in range', () => {
    expect(wholeNumberOption('12', '--count', 1, 100)).toBe(12);
    expect(wholeNumberOption('007', '--count', 1, 100)).toBe(7);
    expect(wholeNumberOption('0', '--port-base', 0, 65_000)).toBe(0);
  });

  it.each(['1e2', ' 12', '12 ', '0x10', '12.0', '+5', '-1', '', '1_000', '１２', '99999999999999999999'])(
    'refuses %j with ERR_VALIDATION naming the flag and the range',
    (text) => {
      expect(() => wholeNumberOption(text, '--count', 1, Infinity)).toThrow(
        new RenkeiError('ERR_VALIDATION', '--count must be a whole number of at least 1.'),
      );
    },
  );

  it('refuses a number out of range', () => {
    expect(() => wholeNumberOption('101', '--count', 1, 100)).toThrow(
      '--count must be a whole number from 1 to 100.',
    );
  });
});

describe('plural', () => {
  it('uses the singular for one only', () => {
    expect(plural(1, 'resident')).toBe('1 resident');
    expect(plural(0, 'resident')).toBe('0 residents');
    expect(plural(2, 'bad entry', 'bad entries')).toBe('2 bad entries');
  });
});

describe('table', () => {
  const stdout = process.stdout as { isTTY?: boolean; columns?: number };
  const saved = { isTTY: stdout.isTTY, columns: stdout.columns };
  afterEach(() => {
    stdout.isTTY = saved.isTTY;
    stdout.columns = saved.columns;
  });
  // eslint-disable-next-line no-control-regex
  const plain = (text: string) => text.replace(/\u001b\[[0-9;]*m/g, '');
  const head = ['id', 'name', 'attachments omitted'];
  const rows = [
    ['074-01', '児童手当の申請（認定請求）'.repeat(3), '課税証明書、住民票、'.repeat(6)],
    ['002-01', 'sickness allowance: application for payment of the benefit', '年金の受給証明書'],
  ];

  /** Each row's cells as text, the wrapped lines of a cell joined again. */
  const cellsOf = (rendered: string): string[][] => {
    const parsed: string[][] = [];
    let current: string[] | undefined;
    for (const line of plain(rendered).split('\n')) {
      if (!line.startsWith('│')) {
        if (current) parsed.push(current.map((c) => c.replace(/\s/g, '')));
        current = undefined;
        continue;
      }
      const parts = line.split('│').slice(1, -1);
      current = current ? current.map((c, i) => c + (parts[i] ?? '')) : parts;
    }
    return parsed;
  };

  it('fits a wide table to the width of the terminal, wrapping every cell in full', () => {
    stdout.isTTY = true;
    stdout.columns = 60;
    const rendered = table(head, rows);
    for (const line of plain(rendered).split('\n')) expect(textWidth(line)).toBeLessThanOrEqual(60);
    expect(cellsOf(rendered)).toEqual([head, ...rows].map((r) => r.map((c) => c.replace(/\s/g, ''))));
  });

  it('leaves a table that fits, and any table when stdout is not a terminal, as it is', () => {
    stdout.isTTY = false;
    stdout.columns = 60;
    const natural = table(head, rows);
    expect(Math.max(...natural.split('\n').map(textWidth))).toBeGreaterThan(150);
    stdout.isTTY = true;
    stdout.columns = 400;
    expect(plain(table(head, rows))).toBe(natural);
  });
});

describe('wrapText', () => {
  it('breaks at spaces where it can and inside a word where it must, counting full-width as two', () => {
    expect(wrapText('one two three', 7)).toBe('one two\nthree');
    expect(wrapText('児童手当の申請', 6)).toBe('児童手\n当の申\n請');
    expect(wrapText('abcdefgh', 3)).toBe('abc\ndef\ngh');
  });
});
