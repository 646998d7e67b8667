import { existsSync, readFileSync } from 'node:fs';
import { partyPaths, pkiPaths } from '../trust/pki/files.ts';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadLegalTable } from '../domain/legal-table/index.ts';
import { launchNetwork } from '../network/launch.ts';
import { seedWorld } from '../network/seed.ts';
import { DEMO_WORLD } from '../network/world.ts';
import { DATABASE_HELP, databaseOption, table, wholeNumberOption, type GlobalOptions } from './output.ts';

/**
 * `renkei start`: the whole demo network on one machine, on the embedded SQLite default. The first
 * start numbers the demo residents and loads the institutions' copies; later starts reuse the data.
 */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the demo network: core, J-LIS and the demo institutions, each on its own port')
    .option('--port-base <port>', 'core on this port, J-LIS on +1, institutions from +10', '7100')
    .option('--retention-years <years>', 'how long every node keeps provision records', '7')
    .option('--database <url>', DATABASE_HELP)
    .action(async (options: { portBase: string; retentionYears: string; database?: string }) => {
      const { dataDir } = program.opts<GlobalOptions>();
      const basePort = wholeNumberOption(options.portBase, '--port-base', 0, 65_000);
      const retentionYears = wholeNumberOption(options.retentionYears, '--retention-years', 1, 100);
      const dir = resolve(dataDir, 'network');
      // Its warnings are for whoever edits legal/ (`renkei legal check` shows them), not for every start.
      const legalTable = loadLegalTable();
      const network = await launchNetwork({
        dataDir: dir,
        legalTable,
        institutions: DEMO_WORLD.institutions,
        basePort,
        retentionYears,
        ...databaseOption(options.database),
      });
      const shutdown = () => {
        console.log('\nStopping the network…');
        network.close().then(
          () => process.exit(0),
          () => process.exit(1),
        );
      };
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);

      const worldFile = join(dir, 'world.json');
      if (!existsSync(worldFile)) {
        console.log('First start: numbering the demo residents and loading copies…');
        await seedWorld(network, DEMO_WORLD, legalTable, { dataDir: dir });
      }
      const names = new Map(DEMO_WORLD.institutions.map((i) => [i.id, `${i.name} ${i.nameEn}`]));
      console.log(
        table(
          ['node', 'name', 'URL (each answers GET /healthz)'],
          network
            .nodes()
            .map((node) => [node.name, names.get(node.name.replace(/^institution:/, '')) ?? '', node.url]),
        ),
      );
      console.log(`Data: ${dir}`);
      if (network.core.publicationUrl) {
        const pub = network.core.publicationUrl;
        console.log(
          `PKI (plain HTTP, public): ${pub}/pki/v1/crl  ${pub}/pki/v1/ocsp  ${pub}/pki/v1/ca-bundle.pem`,
        );
      }
      const example = exampleInquiry(worldFile, network.institutions.get('152048')?.url, network.pkiDir);
      if (example) console.log(`\nTry the seeds' 児童手当 exchange as 三条市's clerk:\n${example}\n`);
      console.log('Press Ctrl-C to stop.');
    });
}

/** A ready-to-paste inquiry for the demo's first resident, using the addressee number a clerk would type. */
function exampleInquiry(
  worldFile: string,
  requesterUrl: string | undefined,
  pkiDir: string | undefined,
): string | undefined {
  if (!requesterUrl) return undefined;
  const directory = JSON.parse(readFileSync(worldFile, 'utf8')) as {
    resident: string;
    addressees: Record<string, string>;
  }[];
  const addresseeNumber = directory.find((r) => r.resident === 'yamada-taro')?.addressees['152048'];
  if (!addresseeNumber) return undefined;
  const body = JSON.stringify({
    addresseeNumber,
    providerId: '131041',
    clauseNo: '74',
    procedureId: '074-01',
    itemNos: [2],
  });
  // The clerk's business system presents 三条市's business credential; the node trusts the network's CA.
  const tls = pkiDir
    ? (() => {
        const own = partyPaths(pkiDir, '152048:business');
        return ` --cacert ${pkiPaths(pkiDir).caBundle} --cert ${own.identityCert} --key ${own.identityKey}`;
      })()
    : '';
  return [
    `  curl -s${tls} -X POST ${requesterUrl}/business/v1/inquiries -H 'content-type: application/json' -d '${body}'`,
    `  curl -s${tls} '${requesterUrl}/business/v1/inquiries/<processingNumber>?waitMs=5000'`,
  ].join('\n');
}
