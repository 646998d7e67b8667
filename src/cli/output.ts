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
