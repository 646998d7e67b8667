import { createInterface } from 'node:readline';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Kysely } from 'kysely';
import { CORE_MIGRATIONS } from '../nodes/core/migrations.ts';
import { intermediateMigrations } from '../nodes/institution/intermediate/migrations.ts';
import { systemClock } from '../shared/clock.ts';
import { migrateToLatest, nodeDatabase, openDatabase } from '../shared/db.ts';
import { RenkeiError } from '../shared/errors.ts';
import { AccountService } from '../shared/web/console/accounts.ts';
import { createKyselyConsoleStore, type ConsoleDatabase } from '../shared/web/console/kysely-store.ts';
import { DATABASE_HELP, databaseOption, readFileArgument, table, type GlobalOptions } from './output.ts';

/**
 * `renkei console-accounts add|list|disable --node <node>`: the staff accounts of a node's console,
 * in that node's own database (the institution's intermediate database, as `renkei node` keeps it
 * under `--data-dir`, or PostgreSQL with `--database`). The node may be running. The password is
 * read from a prompt (not echoed) or from `--password-file`, never from the command line, where
 * other users and the shell's history would see it.
 *
 * Nodes with a console: `institution:<id>` (clerks of that institution) and `core` (its console's
 * `operator` and `oversight` accounts, in the core's database: `core/core.sqlite`, or the `core` schema).
 *
 * Errors (exit 1): ERR_VALIDATION (an unknown node, a bad id, a role the node's console does not
 * accept, a bad password, no such account),
 * ERR_DUPLICATE (the id is taken), ERR_DATABASE_UNAVAILABLE.
 */
export function registerConsoleAccountsCommand(program: Command): void {
  const command = program
    .command('console-accounts')
    .description(
      'staff accounts of a node’s web console (an institution’s clerk console, the core’s console)',
    );

  const open = async (node: string, database: string | undefined) => {
    const { dataDir } = program.opts<GlobalOptions>();
    const { postgres } = databaseOption(database);
    if (node === 'core') {
      const db = await openDatabase<ConsoleDatabase>(
        nodeDatabase(postgres, join(dataDir, 'core', 'core.sqlite'), 'core'),
      );
      await migrateToLatest(db as unknown as Kysely<unknown>, CORE_MIGRATIONS);
      return {
        institutionId: undefined,
        roles: ['operator', 'oversight'],
        accounts: new AccountService({ store: createKyselyConsoleStore(db), clock: systemClock }),
        close: () => db.destroy(),
      };
    }
    const match = /^institution:([a-z0-9-]{2,32})$/.exec(node);
    if (!match?.[1]) {
      throw new RenkeiError(
        'ERR_VALIDATION',
        `--node ${node}: give core or institution:<id> (e.g. institution:152048).`,
      );
    }
    const id = match[1];
    const db = await openDatabase<ConsoleDatabase>(
      nodeDatabase(
        postgres,
        join(dataDir, 'institutions', id, 'intermediate.sqlite'),
        'i',
        id,
        'intermediate',
      ),
    );
    await migrateToLatest(db as unknown as Kysely<unknown>, intermediateMigrations);
    return {
      institutionId: id,
      roles: ['clerk'],
      accounts: new AccountService({ store: createKyselyConsoleStore(db), clock: systemClock }),
      close: () => db.destroy(),
    };
  };

  command
    .command('add <accountId>')
    .description('make an account (the password from a prompt, or --password-file)')
    .requiredOption('--node <node>', 'the node whose console it is: core, or institution:<id>')
    .requiredOption('--name <displayName>', 'the name shown in the console, e.g. "三条市 子育て支援課 山田"')
    .option('--role <role>', 'clerk (an institution accepts only clerks); operator or oversight (the core)')
    .option('--password-file <file>', 'read the password from this file’s first line')
    .option('--database <url>', DATABASE_HELP)
    .action(
      async (
        accountId: string,
        options: { node: string; name: string; role?: string; passwordFile?: string; database?: string },
      ) => {
        const password = options.passwordFile
          ? (readFileArgument(options.passwordFile, '--password-file').toString('utf8').split(/\r?\n/)[0] ??
            '')
          : await askPassword();
        const node = await open(options.node, options.database);
        try {
          const role = options.role ?? (node.institutionId === undefined ? undefined : 'clerk');
          if (role === undefined || !node.roles.includes(role)) {
            throw new RenkeiError(
              'ERR_VALIDATION',
              `--role: the console of ${options.node} accepts ${node.roles.join(' or ')}.`,
            );
          }
          const account = await node.accounts.create({
            accountId,
            displayName: options.name,
            role,
            institutionId: role === 'clerk' ? node.institutionId : undefined,
            password,
          });
          console.log(`Account ${account.accountId} (${account.role}) made for ${options.node}.`);
        } finally {
          await node.close();
        }
      },
    );

  command
    .command('list')
    .description('the accounts, disabled ones included')
    .requiredOption('--node <node>', 'core, or institution:<id>')
    .option('--database <url>', DATABASE_HELP)
    .action(async (options: { node: string; database?: string }) => {
      const node = await open(options.node, options.database);
      try {
        const accounts = await node.accounts.list();
        console.log(
          table(
            ['account', 'name', 'role', 'institution', 'created', 'state'],
            accounts.map((a) => [
              a.accountId,
              a.displayName,
              a.role,
              a.institutionId ?? '',
              a.createdAt.toISOString(),
              a.disabledAt
                ? `disabled ${a.disabledAt.toISOString()}`
                : a.notBefore && a.notBefore > new Date()
                  ? `locked until ${a.notBefore.toISOString()}`
                  : 'active',
            ]),
          ),
        );
      } finally {
        await node.close();
      }
    });

  command
    .command('disable <accountId>')
    .description('disable an account: its sessions end at once')
    .requiredOption('--node <node>', 'core, or institution:<id>')
    .option('--database <url>', DATABASE_HELP)
    .action(async (accountId: string, options: { node: string; database?: string }) => {
      const node = await open(options.node, options.database);
      try {
        await node.accounts.disable(accountId);
        console.log(`Account ${accountId} disabled; its sessions ended.`);
      } finally {
        await node.close();
      }
    });
}

/** The password, typed twice at a prompt without echo (or one line of standard input when piped). */
async function askPassword(): Promise<string> {
  const terminal = process.stdin.isTTY;
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal });
  if (terminal) {
    const internals = rl as unknown as { _writeToOutput: (text: string) => void };
    internals._writeToOutput = () => {};
  }
  const lines = rl[Symbol.asyncIterator]();
  const read = async (prompt: string) => {
    if (terminal) process.stderr.write(`${prompt}: `);
    const next = await lines.next();
    if (terminal) process.stderr.write('\n');
    return next.done ? '' : String(next.value);
  };
  try {
    const password = await read('password (12 to 128 characters)');
    if (terminal && (await read('the same password again')) !== password) {
      throw new RenkeiError('ERR_VALIDATION', 'The two passwords differ; nothing was made.');
    }
    return password;
  } finally {
    rl.close();
  }
}
