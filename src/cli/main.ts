import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { RenkeiError } from '../shared/errors.ts';
import { registerNumberCommand } from './number-command.ts';
import { registerImportCommand } from './import-command.ts';
import { registerBenchCommand } from './bench-command.ts';
import { registerDemoCommand } from './demo-command.ts';
import { registerStartCommand } from './start-command.ts';
import { registerLegalCommand } from './legal-command.ts';
import { registerCodesCommand } from './codes-command.ts';

/**
 * `renkei`: the command line for the whole network. Each sub-command lives in its own file under
 * `src/cli/` and is registered here.
 */
const program = new Command()
  .name('renkei')
  .description('Renkei: an open implementation of the My Number information-linkage network')
  .version(packageVersion(), '-V, --version', 'print the version of renkei')
  .option('--data-dir <dir>', 'where nodes keep their databases and logs', './data')
  // Before the sub-commands are registered: each copies the settings of its parent when it is created.
  .showHelpAfterError();

// Output piped into `head` or a pager that has read enough: stop quietly, as Unix tools do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

registerStartCommand(program);
registerDemoCommand(program);
registerNumberCommand(program);
registerImportCommand(program);
registerBenchCommand(program);
registerLegalCommand(program);
registerCodesCommand(program);
try {
  await program.parseAsync(process.argv);
} catch (error) {
  // A failure the user can act on prints its code and message; anything else is a bug, with its stack.
  if (error instanceof RenkeiError) {
    console.error(`${error.code}: ${error.message}`);
  } else {
    console.error(error);
  }
  process.exitCode = 1;
}

/** The version in the package's own package.json (two directories up from this file). */
function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}
