import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Command } from 'commander';
import { loadLegalTable } from '../domain/legal-table/index.ts';
import { startNodeProcesses, type NodeProcesses } from '../network/node-processes.ts';
import { verifyNetworkRecords } from '../network/records.ts';
import { seedWorld } from '../network/seed.ts';
import { DEMO_INSTITUTIONS, type World } from '../network/world.ts';
import type { SupervisedNode } from '../network/supervisor.ts';
import { RenkeiError } from '../shared/errors.ts';
import { table, wholeNumberOption, type GlobalOptions } from './output.ts';

const REQUESTER = '152048'; // 三条市
const PROVIDER = '131041'; // 新宿区

/**
 * `renkei chaos` (`npm run chaos`): the network as `renkei start` runs it — one supervised OS process
 * per node — under a steady load of inquiries, while a random node is killed with SIGKILL at random
 * moments (the supervisor restarts it). Then the load stops, every accepted inquiry is given time to
 * end, the network stops, and each accepted inquiry is checked: it ended (not pending at the
 * requester), and `records verify` finds the three parties' records of every exchange in agreement.
 * Prints accepted, completed, lost (must be 0) and the records findings (must be 0); exits 1 otherwise.
 * A script that prints figures, not a timed test.
 */
export function registerChaosCommand(program: Command): void {
  program
    .command('chaos')
    .description('kill random nodes with SIGKILL under load, then check that no accepted inquiry is lost')
    .option('--kills <n>', 'how many SIGKILLs (at least 100 for a full run)', '100')
    .option('--concurrency <n>', 'inquiries in flight at once', '8')
    .option('--settle-seconds <n>', 'how long accepted inquiries may take to end after the load stops', '180')
    .option(
      '--victims <names>',
      'kill these nodes in this order, cycling (e.g. core,institution:152048); random nodes otherwise',
    )
    .option('--keep', 'keep the data directory afterwards')
    .action(
      async (options: {
        kills: string;
        concurrency: string;
        settleSeconds: string;
        victims?: string;
        keep?: boolean;
      }) => {
        const order = options.victims?.split(',').map((name) => name.trim());
        const kills = wholeNumberOption(options.kills, '--kills', 1, 100_000);
        const concurrency = wholeNumberOption(options.concurrency, '--concurrency', 1, 256);
        const settleMs = wholeNumberOption(options.settleSeconds, '--settle-seconds', 1, 3_600) * 1000;
        const base = resolve(program.opts<GlobalOptions>().dataDir);
        mkdirSync(base, { recursive: true });
        const dir = mkdtempSync(join(base, 'chaos-'));
        const legalTable = loadLegalTable();
        const world: World = {
          institutions: DEMO_INSTITUTIONS.filter((i) => i.id === REQUESTER || i.id === PROVIDER),
          residents: Array.from({ length: 20 }, (_, i) => ({
            key: `r${i}`,
            name: `試験 花子${i}`,
            nameKana: 'シケン ハナコ',
            address: '新潟県三条市旭町二丁目3番1号',
            dateOfBirth: '1990-04-01',
            sex: 'female' as const,
            knownAt: [REQUESTER, PROVIDER],
            copies: { [PROVIDER]: { 2: {} } },
          })),
        };
        let restarts = 0;
        let gaveUp = 0;
        console.error(`chaos: starting the network as processes in ${dir}…`);
        const network = await startNodeProcesses({
          dataDir: dir,
          institutions: world.institutions,
          basePort: 0,
          // A node killed soon after its restart is still restarted: only a node that cannot start is given up.
          fastFailureMs: 1_000,
          report: (event) => {
            if (event.type === 'restarted') restarts++;
            if (event.type === 'gave-up') gaveUp++;
          },
        });
        let closed = false;
        try {
          const seeded = await seedWorld(network, world, legalTable);
          const clerk = network.institution(REQUESTER);
          const addressees = [...seeded.residents.keys()].map((k) => seeded.addresseeNumber(k, REQUESTER));
          const accepted = new Set<string>();
          const notAccepted = new Map<string, number>();
          let loading = true;
          const load = async () => {
            for (let i = 0; loading; i++) {
              try {
                const pending = await clerk.inquire({
                  body: {
                    addresseeNumber: addressees[i % addressees.length] ?? '',
                    providerId: PROVIDER,
                    clauseNo: '74',
                    procedureId: '074-01',
                    itemNos: [2],
                  },
                });
                accepted.add(pending.processingNumber);
              } catch (error) {
                const cause = error instanceof RenkeiError ? error.details.cause : undefined;
                const code =
                  error instanceof RenkeiError
                    ? `${error.code}${typeof cause === 'string' ? ` (${cause})` : ''}${error.details.queued === true ? ' (queued)' : ''}`
                    : 'error';
                notAccepted.set(code, (notAccepted.get(code) ?? 0) + 1);
                await pause(100);
              }
            }
          };
          const started = performance.now();
          const loaders = Array.from({ length: concurrency }, () => load());
          const victims = (): SupervisedNode[] => network.nodes();
          const names = victims().map((node) => node.name);
          const unknown = order?.find((name) => !names.includes(name));
          if (unknown !== undefined) {
            throw new RenkeiError(
              'ERR_VALIDATION',
              `--victims: no node is named ${unknown} (${names.join(', ')}).`,
            );
          }
          const killsByNode = new Map<string, number>();
          for (let k = 1; k <= kills;) {
            await pause(200 + Math.random() * 1_300);
            // Nodes that are up: one still starting is not killed again. On this 2-core machine a start
            // takes seconds (longer than the pause between kills), so killing starting nodes kept the
            // whole network down and the load stalled, which tests nothing about in-flight work.
            const alive = victims().filter((node) => node.up && node.pid !== undefined);
            const named = order?.[(k - 1) % order.length];
            const victim =
              named === undefined
                ? alive[Math.floor(Math.random() * alive.length)]
                : alive.find((node) => node.name === named);
            if (victim?.pid === undefined) continue;
            process.kill(victim.pid, 'SIGKILL');
            killsByNode.set(victim.name, (killsByNode.get(victim.name) ?? 0) + 1);
            process.stderr.write(`\rchaos: ${k}/${kills} kills, ${accepted.size} inquiries accepted`);
            k++;
          }
          loading = false;
          await Promise.all(loaders);
          process.stderr.write('\n');
          const loadSeconds = (performance.now() - started) / 1000;

          // Every accepted inquiry must end: wait for each, through restarts still under way.
          console.error(`chaos: waiting up to ${settleMs / 1000} s for ${accepted.size} inquiries to end…`);
          const deadline = Date.now() + settleMs;
          const pending = new Set(accepted);
          while (pending.size > 0 && Date.now() < deadline) {
            for (const processingNumber of [...pending]) {
              try {
                const status = await clerk.getInquiry({ params: { processingNumber }, query: { waitMs: 0 } });
                if (status.status === 'answered') pending.delete(processingNumber);
              } catch {
                // The requester restarting: ask again.
              }
            }
            if (pending.size > 0) await pause(1_000);
          }
          await closeNetwork(network);
          closed = true;
          const report = await verifyNetworkRecords({ dataDir: dir });
          const findings = [...report.parties.flatMap((p) => p.findings), ...report.exchanges.findings];
          console.log(
            table(
              [
                'kills',
                'restarts',
                'load s',
                'accepted',
                'completed',
                'lost',
                'records findings',
                'not accepted',
              ],
              [
                [
                  kills,
                  restarts,
                  loadSeconds.toFixed(0),
                  accepted.size,
                  accepted.size - pending.size,
                  pending.size,
                  findings.length,
                  [...notAccepted].map(([code, n]) => `${code}: ${n}`).join(', ') || '-',
                ],
              ],
            ),
          );
          for (const finding of findings.slice(0, 20)) console.log(`  ${finding.party}: ${finding.message}`);
          console.log(
            `kills per node: ${[...killsByNode]
              .sort(([a], [b]) => a.localeCompare(b))
              .map(([name, n]) => `${name} ${n}`)
              .join(', ')}`,
          );
          if (gaveUp > 0) console.log(`${gaveUp} node(s) were given up by the supervisor.`);
          if (pending.size > 0 || findings.length > 0 || gaveUp > 0) process.exitCode = 1;
          console.log(
            'lost: accepted (the core answered 202) but never ended at the requester; records findings: renkei records verify over the three parties.',
          );
        } finally {
          if (!closed) await closeNetwork(network);
          if (!options.keep) rmSync(dir, { recursive: true, force: true });
        }
      },
    );
}

async function closeNetwork(network: NodeProcesses): Promise<void> {
  await network.close();
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
