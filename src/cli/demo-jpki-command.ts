import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { lockDirectory, type DirectoryLock } from '../shared/lock.ts';
import { DemoStepFailed, runJpkiDemo } from './demo-jpki.ts';
import { table, type GlobalOptions } from './output.ts';

/**
 * `renkei demo jpki`: the seeds' bank flow (①–⑧) with a real virtual card on a fresh network
 * (`demo-jpki.ts`). The network lives in a temporary directory, removed afterwards, unless
 * `--data-dir` is given: then in `<data-dir>/demo-jpki`, emptied first and kept. Exits 1 naming the
 * step that failed.
 */
export function registerDemoJpkiCommand(demo: Command, program: Command): void {
  demo
    .command('jpki')
    .description("the seeds' JPKI bank flow (①–⑧) end to end with a real virtual card")
    .option('--out <dir>', "write the cards' certificates, the JPKI CA bundle and the CRLs (PEM) there")
    .action(async (options: { out?: string }) => {
      const given = program.getOptionValueSource('dataDir') !== 'default';
      let dir: string;
      let lock: DirectoryLock | undefined;
      if (given) {
        const { dataDir } = program.opts<GlobalOptions>();
        dir = resolve(dataDir, 'demo-jpki');
        // Beside the directory, before it is emptied: a second run must not delete a running one's files.
        lock = lockDirectory(resolve(dataDir), 'demo-jpki');
        rmSync(dir, { recursive: true, force: true });
      } else {
        dir = mkdtempSync(join(tmpdir(), 'renkei-demo-jpki-'));
      }
      const started = process.hrtime.bigint();
      try {
        const rows = await runJpkiDemo({
          dir,
          out: options.out === undefined ? undefined : resolve(options.out),
          say: (line) => console.log(line),
        });
        console.log(
          '\n' +
            table(
              ['step (手順)', 'who', 'what', 'serials (発行番号)', 'result'],
              rows.map((r) => [r.step, r.who, r.what, r.serials, r.result]),
            ),
        );
        const seconds = Number(process.hrtime.bigint() - started) / 1e9;
        console.log(
          `The bank flow ran end to end in ${seconds.toFixed(1)} s.` +
            (given ? ` Databases kept under ${dir}.` : ''),
        );
      } catch (error) {
        // DemoStepFailed's message names the step, then the code and message of what went wrong.
        const why = error instanceof DemoStepFailed ? error.message : String(error);
        console.error(`renkei demo jpki failed at ${why}`);
        if (given) console.error(`Its data is kept under ${dir}.`);
        process.exitCode = 1;
      } finally {
        lock?.release();
        if (!given) rmSync(dir, { recursive: true, force: true });
      }
    });
}
