import { Command } from 'commander';

/**
 * `renkei`: the command line for the whole network. Each sub-command lives in its own file under
 * `src/cli/` and is registered here.
 */
const program = new Command()
  .name('renkei')
  .description('Renkei: an open implementation of the My Number information-linkage network')
  .option('--data-dir <dir>', 'where nodes keep their databases and logs', './data');

program.showHelpAfterError();
await program.parseAsync(process.argv);
