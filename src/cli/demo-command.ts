import { rmSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { attachmentsReplacedBy, loadLegalTable } from '../domain/legal-table/index.ts';
import { launchNetwork, type Network } from '../network/launch.ts';
import { DEMO_SCENARIOS, runScenario, type Exchange } from '../network/scenarios.ts';
import { seedWorld } from '../network/seed.ts';
import { DEMO_WORLD } from '../network/world.ts';
import { lockDirectory } from '../shared/lock.ts';
import { registerDemoJpkiCommand } from './demo-jpki-command.ts';
import { table, type GlobalOptions } from './output.ts';

/**
 * `renkei demo`: start a fresh network under `<data-dir>/demo`, run the seeds' six scenarios through
 * it, print every exchange, and leave the databases there to be inspected. Exits 1 if any scenario
 * did not end as the seeds lead us to expect.
 */
export function registerDemoCommand(program: Command): void {
  const demo = program
    .command('demo')
    .description("run the seeds' scenarios against a freshly started network and print each exchange")
    .action(async () => {
      const { dataDir } = program.opts<GlobalOptions>();
      const dir = resolve(dataDir, 'demo');
      // Held beside the demo directory, before it is emptied: a second demo must not delete the files
      // of one that is running.
      const legalTable = loadLegalTable();
      const lock = lockDirectory(resolve(dataDir), 'demo');
      let network: Network;
      try {
        rmSync(dir, { recursive: true, force: true });
        network = await launchNetwork({
          dataDir: dir,
          legalTable,
          institutions: DEMO_WORLD.institutions,
          basePort: 0,
        });
      } catch (error) {
        lock.release();
        throw error;
      }
      const names = new Map(DEMO_WORLD.institutions.map((i) => [i.id, i.name]));
      const name = (id: string) => `${names.get(id) ?? id}`;
      const all: Exchange[] = [];
      try {
        console.log(`Network started: ${network.nodes().length} nodes, data in ${dir}`);
        const world = await seedWorld(network, DEMO_WORLD, legalTable, { dataDir: dir });
        console.log(`Seeded ${world.residents.size} synthetic residents and their copies.\n`);
        for (const scenario of DEMO_SCENARIOS) {
          const exchanges = await runScenario(network, world, scenario);
          all.push(...exchanges);
          const procedure = legalTable.findProcedure(scenario.procedureId);
          console.log(`(${scenario.id}) ${scenario.title}`);
          if (scenario.expect.outcome === 'refused') {
            // No application: the scenario's text says why the core must refuse.
            const refused = exchanges.every((e) => e.outcome === 'refused');
            console.log(
              `    ${refused ? 'Refused by the core' : 'Should have been refused by the core'}: ${scenario.application}`,
            );
          } else {
            console.log(`    ${scenario.application}`);
            // Only the attachments the items asked for replace: the others the applicant still
            // brings whatever the answers say, and listing them as "no longer needed" would be wrong.
            const replaced = procedure ? attachmentsReplacedBy(procedure, scenario.itemNos) : [];
            if (replaced.length > 0) console.log(`    ${attachmentsLine(replaced, exchanges)}`);
          }
          for (const e of exchanges) {
            console.log(
              `    ${e.asExpected ? 'ok ' : 'NG '} ${e.resident}: ${e.outcome}${e.reason ? ` — ${e.reason}` : ''}` +
                (e.receivedFields.length > 0 ? ` — received ${e.receivedFields.length} fields` : ''),
            );
          }
          console.log('');
        }
      } finally {
        await network.close();
        lock.release();
      }
      console.log(
        table(
          [
            '',
            'processing number (処理通番)',
            'requester (照会者)',
            'provider (提供者)',
            'clause (項)',
            'procedure',
            'items',
            'outcome',
          ],
          all.map((e) => [
            e.scenario,
            e.processingNumber ?? '—',
            name(e.requesterId),
            name(e.providerId),
            e.clauseNo,
            e.procedureId,
            e.itemNos.map((n) => `[${n}]`).join(' '),
            `${e.asExpected ? '' : '✗ '}${e.outcome}${e.reason ? `\n${e.reason}` : ''}`,
          ]),
        ),
      );
      const failed = all.filter((e) => !e.asExpected);
      console.log(
        failed.length === 0
          ? `All ${all.length} exchanges ended as expected. Databases kept under ${dir}.`
          : `${failed.length} of ${all.length} exchanges did not end as expected.`,
      );
      process.exitCode = failed.length === 0 ? 0 : 1;
    });
  registerDemoJpkiCommand(demo, program);
}

type Missed = Exclude<Exchange['outcome'], 'provided'>;

/** Why an applicant still brings the attachments, by the outcome of the exchange. */
const STILL_NEEDED_BECAUSE: Record<Missed, string> = {
  not_held: 'the provider holds no copy',
  refused: 'the core refused the inquiry',
  failed: 'the exchange failed',
  pending: 'no answer came in time',
};

/**
 * What the exchanges mean for the applicant's attachments (添付書類): no longer needed when every
 * exchange provided the information, still needed (and why) when any did not.
 */
export function attachmentsLine(attachments: readonly string[], exchanges: readonly Exchange[]): string {
  const list = attachments.join('、');
  const missed = exchanges.filter((e): e is Exchange & { outcome: Missed } => e.outcome !== 'provided');
  if (missed.length === 0) return `No longer needed: ${list}`;
  const because = [...new Set(missed.map((e) => STILL_NEEDED_BECAUSE[e.outcome]))].join('; ');
  const forWhom = missed.length < exchanges.length ? ` for ${missed.map((e) => e.resident).join(', ')}` : '';
  return `Still needed${forWhom}: ${list} (${because})`;
}
