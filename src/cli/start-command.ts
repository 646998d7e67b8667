import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadLegalTable } from '../domain/legal-table/index.ts';
import { launchNetwork } from '../network/launch.ts';
import { seedWorld } from '../network/seed.ts';
import { DEMO_WORLD } from '../network/world.ts';
import { table, type GlobalOptions } from './output.ts';

/**
 * `renkei start`: the whole demo network on one machine, on the embedded SQLite default. The first
 * start numbers the demo residents and loads the institutions' copies; later starts reuse the data.
 */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run the demo network: core, J-LIS and the demo institutions, each on its own port')
    .option('--port-base <port>', 'core on this port, J-LIS on +1, institutions from +10', '7100')
    .action(async (options: { portBase: string }) => {
      const { dataDir } = program.opts<GlobalOptions>();
      const basePort = Number(options.portBase);
      if (!Number.isInteger(basePort) || basePort < 0 || basePort > 65_000) {
        console.error(`--port-base must be a port number between 0 and 65000.`);
        process.exitCode = 1;
        return;
      }
      const dir = resolve(dataDir, 'network');
      const legalTable = loadLegalTable();
      const network = await launchNetwork({
        dataDir: dir,
        legalTable,
        institutions: DEMO_WORLD.institutions,
        basePort,
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

      if (!existsSync(join(dir, 'world.json'))) {
        console.log('First start: numbering the demo residents and loading copies…');
        await seedWorld(network, DEMO_WORLD, legalTable, { dataDir: dir });
      }
      const names = new Map(DEMO_WORLD.institutions.map((i) => [i.id, `${i.name} (${i.nameEn})`]));
      console.log(
        table(
          ['node', 'URL', 'health'],
          network.nodes().map((node) => {
            const id = node.name.replace(/^institution:/, '');
            return [names.get(id) ?? node.name, node.url, `${node.url}/healthz`];
          }),
        ),
      );
      console.log(`Data: ${dir}   (addressee numbers of the demo residents: ${join(dir, 'world.json')})`);
      console.log('Press Ctrl-C to stop.');
    });
}
