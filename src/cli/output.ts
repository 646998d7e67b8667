import { RenkeiError } from '../shared/errors.ts';
import Table from 'cli-table3';

/** A readable table for a person at a terminal (never a JSON dump). */
export function table(head: string[], rows: (string | number)[][]): string {
  // Colour only on a terminal: piped into a file or another program, escape codes are noise.
  const colour = process.stdout.isTTY;
  const t = new Table({
    head,
    style: colour ? { head: ['cyan'], border: ['grey'] } : { head: [], border: [] },
    wordWrap: true,
  });
  for (const row of rows) t.push(row.map(String));
  return t.toString();
}

/** The options every command shares, read from the root program. */
export interface GlobalOptions {
  dataDir: string;
}

/**
 * A command-line option that must be a whole number in [min, max]: its value, or ERR_VALIDATION
 * naming the flag and the range (the CLI prints it and exits 1).
 */
export function wholeNumberOption(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    const range = Number.isFinite(max) ? `from ${min} to ${max}` : `of at least ${min}`;
    throw new RenkeiError('ERR_VALIDATION', `${flag} must be a whole number ${range}.`);
  }
  return n;
}
