import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { RenkeiError } from '../shared/errors.ts';

type Register = (program: Command) => void;

/**
 * Every sub-command, in help order, loaded only when needed: each pulls in its own part of the
 * system (the nodes, Fastify, Kysely…), and loading them all cost `renkei number check` 1.5 s.
 */
const COMMANDS: Record<string, () => Promise<Register>> = {
  start: async () => (await import('./start-command.ts')).registerStartCommand,
  node: async () => (await import('./node-command.ts')).registerNodeCommand,
  backup: async () => (await import('./backup-command.ts')).registerBackupCommand,
  demo: async () => (await import('./demo-command.ts')).registerDemoCommand,
  number: async () => (await import('./number-command.ts')).registerNumberCommand,
  import: async () => (await import('./import-command.ts')).registerImportCommand,
  bench: async () => (await import('./bench-command.ts')).registerBenchCommand,
  legal: async () => (await import('./legal-command.ts')).registerLegalCommand,
  codes: async () => (await import('./codes-command.ts')).registerCodesCommand,
  registry: async () => (await import('./registry-command.ts')).registerRegistryCommand,
  security: async () => (await import('./security-command.ts')).registerSecurityCommand,
  pki: async () => (await import('./pki-command.ts')).registerPkiCommand,
  records: async () => (await import('./records-command.ts')).registerRecordsCommand,
  stats: async () => (await import('./stats-command.ts')).registerStatsCommand,
  notices: async () => (await import('./notices-command.ts')).registerNoticesCommand,
  applications: async () => (await import('./applications-command.ts')).registerApplicationsCommand,
  openapi: async () => (await import('./openapi-command.ts')).registerOpenApiCommand,
  inquiry: async () => (await import('./inquiry-command.ts')).registerInquiryCommand,
  bulk: async () => (await import('./bulk-command.ts')).registerBulkCommand,
  chaos: async () => (await import('./chaos-command.ts')).registerChaosCommand,
  corporate: async () => (await import('./corporate-command.ts')).registerCorporateCommand,
  jlis: async () => (await import('./jlis-command.ts')).registerJlisCommand,
  card: async () => (await import('./card-command.ts')).registerCardCommand,
  'console-accounts': async () =>
    (await import('./console-accounts-command.ts')).registerConsoleAccountsCommand,
  'card-reader': async () => (await import('./card-reader-command.ts')).registerCardReaderCommand,
};

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

try {
  // The command asked for, alone; all of them for help, a mistyped command's suggestions, or none;
  // none at all for the version alone (commander prints it from the program).
  const args = process.argv.slice(2);
  const asked = commandIn(args);
  const load = asked === undefined ? undefined : COMMANDS[asked];
  const versionOnly = args.length === 1 && (args[0] === '-V' || args[0] === '--version');
  const loads = versionOnly ? [] : load ? [load()] : Object.values(COMMANDS).map((l) => l());
  for (const register of await Promise.all(loads)) {
    register(program);
  }
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

/** The first argument that is not an option or the value of the global `--data-dir`. */
function commandIn(args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--data-dir') i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

/** The version in the package's own package.json (two directories up from this file). */
function packageVersion(): string {
  const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
  return (JSON.parse(text) as { version: string }).version;
}
