import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { RenkeiError } from '../shared/errors.ts';
import { openSecurityLog } from '../shared/security-log.ts';
import { table, wholeNumberOption, type GlobalOptions } from './output.ts';

/**
 * `renkei security events [--node <core|jlis|institution id>] [--limit N]`: what the trust layer of
 * each node refused (no certificate, another CA's, expired, revoked, a route not for the caller, a bad
 * signature, a replay, a party acting in another's name…), newest first, from each node's
 * `security.sqlite` under the network's data directory (`npm start` keeps it in `data/network`). For
 * the operator and the auditor: a table, never a body. `party` is the caller's verified party;
 * `claimed (unverified)` the party a refused certificate names, which proves nothing.
 */
export function registerSecurityCommand(program: Command): void {
  program
    .command('security')
    .description("what the nodes' trust layer refused, from each node's security log")
    .command('events')
    .description(
      'list refusals, newest first: time, node, route, party, the party a refused certificate claims (unverified), code, peer address',
    )
    .option('--node <node>', 'only this node: core, jlis, or an institution id such as 152048')
    .option('--limit <n>', 'at most this many per node (1-10000)', '50')
    .action(async (options: { node?: string; limit: string }) => {
      const limit = wholeNumberOption(options.limit, '--limit', 1, 10_000);
      const dataDir = networkDir(program.opts<GlobalOptions>().dataDir);
      const logs = securityLogs(dataDir).filter((l) => options.node === undefined || l.node === options.node);
      if (logs.length === 0) {
        throw new RenkeiError(
          'ERR_VALIDATION',
          options.node === undefined
            ? `No node has a security log under ${dataDir}; has the network run with its trust layer there?`
            : `No node "${options.node}" has a security log under ${dataDir}; give core, jlis or an institution id.`,
        );
      }
      const rows: (string | number)[][] = [];
      for (const { node, file } of logs) {
        const log = await openSecurityLog(file);
        try {
          for (const e of await log.list(limit)) {
            rows.push([
              e.at,
              node,
              e.route,
              e.partyId ?? '-',
              e.claimedPartyId ?? '-',
              e.code,
              e.remoteAddress ?? '-',
            ]);
          }
        } finally {
          await log.close();
        }
      }
      rows.sort((a, b) => String(b[0]).localeCompare(String(a[0])));
      if (rows.length === 0) {
        console.log('No refusals recorded.');
        return;
      }
      console.log(table(['time', 'node', 'route', 'party', 'claimed (unverified)', 'code', 'peer'], rows));
    });
}

/** The network's directory: `<data dir>` itself, or `<data dir>/network` as `npm start` uses it. */
function networkDir(dataDir: string): string {
  const dir = resolve(dataDir);
  for (const candidate of [dir, join(dir, 'network'), join(dir, 'demo')]) {
    if (existsSync(join(candidate, 'core'))) return candidate;
  }
  return dir;
}

function securityLogs(dataDir: string): { node: string; file: string }[] {
  const found: { node: string; file: string }[] = [];
  for (const node of ['core', 'jlis']) {
    const file = join(dataDir, node, 'security.sqlite');
    if (existsSync(file)) found.push({ node, file });
  }
  const institutions = join(dataDir, 'institutions');
  if (existsSync(institutions)) {
    for (const id of readdirSync(institutions).sort()) {
      const file = join(institutions, id, 'security.sqlite');
      if (existsSync(file)) found.push({ node: id, file });
    }
  }
  return found;
}
