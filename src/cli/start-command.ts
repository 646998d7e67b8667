import { existsSync, readFileSync } from 'node:fs';
import { partyPaths, pkiPaths } from '../trust/pki/files.ts';
import { isAbsolute, join, relative, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadLegalTable } from '../domain/legal-table/index.ts';
import { launchNetwork, type Network } from '../network/launch.ts';
import { startNodeProcesses, type NodeProcesses } from '../network/node-processes.ts';
import {
  DEMO_CARD_PIN,
  cardsDirOf,
  hasDemoCards,
  issueDemoCards,
  startDemoReader,
} from '../network/portal-demo.ts';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '../shared/logger.ts';
import { createDemoKakeibo } from '../network/demo-kakeibo.ts';
import { listen } from '../shared/http.ts';
import { SupervisedNode, type SupervisorEvent } from '../network/supervisor.ts';
import type { RunningNode } from '../shared/node.ts';
import { DEMO_SCENARIOS, runScenario } from '../network/scenarios.ts';
import { seedWorld } from '../network/seed.ts';
import {
  DEMO_CLERK_PASSWORD,
  DEMO_CORE_ACCOUNTS,
  DEMO_OPERATOR_PASSWORD,
  DEMO_OVERSIGHT_PASSWORD,
  DEMO_WORLD,
} from '../network/world.ts';
import { checkWorkers } from './node-command.ts';
import { DATABASE_HELP, databaseOption, table, wholeNumberOption, type GlobalOptions } from './output.ts';

/**
 * `renkei start`: the whole demo network on one machine, each node in an OS process of its own
 * (`renkei node <kind> --config <data dir>/network/config/<node>.yaml`), supervised: a node that
 * exits is reported here and restarted; Ctrl-C stops them all. `--in-process` runs every node in
 * this process instead, as `renkei demo` and the tests do. The first start numbers the demo
 * residents and loads the institutions' copies through the nodes' APIs; later starts reuse the data.
 *
 * Errors (exit 1): ERR_VALIDATION (an option), ERR_CONFIG_INVALID (`--database`), and any node's
 * start-up error: ERR_PORT_IN_USE, ERR_DATA_DIR_IN_USE, ERR_DATABASE_UNAVAILABLE…
 */
export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description(
      'run the demo network: core, J-LIS and the demo institutions, each its own process on its own port',
    )
    .option(
      '--port-base <port>',
      'core on this port, J-LIS on +1, the corporate-number service on +3, institutions from +10',
      '7100',
    )
    .option('--retention-years <years>', 'how long every node keeps provision records', '7')
    .option('--database <url>', DATABASE_HELP)
    .option('--workers <n>', 'core processes serving its port (more than 1 needs --database)', '1')
    .option('--in-process', 'run every node in this one process (no supervision)')
    .action(
      async (options: {
        portBase: string;
        retentionYears: string;
        database?: string;
        workers: string;
        inProcess?: boolean;
      }) => {
        const { dataDir } = program.opts<GlobalOptions>();
        const basePort = wholeNumberOption(options.portBase, '--port-base', 0, 65_000);
        const retentionYears = wholeNumberOption(options.retentionYears, '--retention-years', 1, 100);
        const dir = resolve(dataDir, 'network');
        const database = databaseOption(options.database);
        const workers = wholeNumberOption(options.workers, '--workers', 1, 64);
        checkWorkers(workers, database.postgres !== undefined);
        // Its warnings are for whoever edits legal/ (`renkei legal check` shows them), not for every start.
        const legalTable = loadLegalTable();
        const abort = new AbortController();
        let network: Network | undefined;
        let reader: FastifyInstance | undefined;
        let kakeibo: FastifyInstance | undefined;
        let stopping = false;
        const shutdown = () => {
          if (stopping) return;
          stopping = true;
          console.log('\nStopping the network…');
          abort.abort();
          (reader?.close() ?? Promise.resolve())
            .then(() => kakeibo?.close())
            .then(() => network?.close())
            .then(
              () => process.exit(0),
              () => process.exit(1),
            );
        };
        process.on('SIGINT', shutdown);
        process.on('SIGTERM', shutdown);
        try {
          network = options.inProcess
            ? await launchNetwork({
                dataDir: dir,
                legalTable,
                institutions: DEMO_WORLD.institutions,
                basePort,
                retentionYears,
                ...database,
                corporate: { demoCorporations: DEMO_CORPORATIONS },
                consoles: true,
              })
            : await startNodeProcesses(
                {
                  dataDir: dir,
                  institutions: DEMO_WORLD.institutions,
                  basePort,
                  retentionYears,
                  ...database,
                  workers,
                  corporate: { demoCorporations: DEMO_CORPORATIONS },
                  portal: true,
                  report: (event) => console.log(describeEvent(event, dir)),
                },
                abort.signal,
              );
        } catch (error) {
          if (stopping) return; // Ctrl-C during start-up: shutdown() exits
          throw error;
        }
        if (stopping) return;

        const worldFile = join(dir, 'world.json');
        const portal = 'portal' in network ? (network as NodeProcesses) : undefined;
        const cardsDir = cardsDirOf(dir);
        if (!existsSync(worldFile)) {
          console.log('First start: numbering the demo residents and loading copies…');
          const seeded = await seedWorld(network, DEMO_WORLD, legalTable, { dataDir: dir });
          if (portal?.portal && !hasDemoCards(cardsDir)) {
            console.log('First start: issuing the demo residents’ cards (個人番号カード)…');
            await issueDemoCards(network, seeded, cardsDir);
            // So that a resident who logs in finds exchanges in the portal's やりとり履歴 (page A).
            console.log('First start: the seeds’ scenarios, as `renkei demo` runs them…');
            for (const scenario of DEMO_SCENARIOS) await runScenario(network, seeded, scenario);
          }
        }
        if (portal?.portal && portal.readerUrl) {
          await portal.releasePort(portal.readerUrl);
          reader = await startDemoReader({
            cardsDir,
            portalUrl: portal.portal.url,
            readerUrl: portal.readerUrl,
            logger: await createLogger({ node: 'card-reader', file: join(dir, 'logs', 'card-reader.log') }),
          });
          if (portal.demoClient) {
            // デモ家計簿アプリ: the 自己情報取得API's demo client, registered in the portal's config.
            const { url, clientId, secret } = portal.demoClient;
            kakeibo = await createDemoKakeibo({
              portalOrigin: portal.portal.url,
              clientId,
              secret,
              origin: url,
              logger: await createLogger({
                node: 'demo-kakeibo',
                file: join(dir, 'logs', 'demo-kakeibo.log'),
              }),
            });
            await portal.releasePort(url);
            await listen(kakeibo, Number(new URL(url).port), '127.0.0.1');
          }
        }
        const names = new Map([
          ...DEMO_WORLD.institutions.map((i): [string, string] => [i.id, `${i.name} ${i.nameEn}`]),
          ['corporate', '国税庁 法人番号公表サイト Corporate Number publication'],
          ['portal', 'マイナポータル Myna Portal'],
        ]);
        const pid = (node: RunningNode) => (node instanceof SupervisedNode ? String(node.pid ?? '') : '');
        console.log(
          table(
            ['node', 'name', 'URL (each answers GET /healthz)', 'console, login id', 'process'],
            network
              .nodes()
              .map((node) => [
                node.name,
                names.get(node.name.replace(/^institution:/, '')) ?? '',
                node.url,
                node.consoleUrl === undefined
                  ? ''
                  : node.name === 'core'
                    ? `${node.consoleUrl}/login  ${DEMO_CORE_ACCOUNTS.map((a) => a.accountId).join(' / ')}`
                    : `${node.consoleUrl}/login  clerk-${node.name.replace(/^institution:/, '')}`,
                options.inProcess ? `${process.pid} (all)` : pid(node),
              ]),
          ),
        );
        console.log(`Data: ${dir}   Logs: ${join(dir, 'logs')}`);
        console.log(
          `Clerk consoles: log in as clerk-<institution id>, password ${DEMO_CLERK_PASSWORD} (the demo only; ` +
            `make real accounts with \`renkei console-accounts add\`).`,
        );
        if (network.core.consoleUrl) {
          console.log(
            `Core console: ${network.core.consoleUrl}/login  operator (運用者) password ${DEMO_OPERATOR_PASSWORD}; ` +
              `oversight (個人情報保護委員会) password ${DEMO_OVERSIGHT_PASSWORD} (the demo only).`,
          );
        }
        if (network.core.publicationUrl) {
          const pub = network.core.publicationUrl;
          console.log(
            `PKI (plain HTTP, public): ${pub}/pki/v1/crl  ${pub}/pki/v1/ocsp  ${pub}/pki/v1/ca-bundle.pem`,
          );
        }
        const jpki = network.jlis.publicationUrl;
        if (jpki) {
          console.log(
            `JPKI (plain HTTP, public): ${jpki}/jpki/v1/crl/signing  ${jpki}/jpki/v1/crl/authentication  ` +
              `${jpki}/jpki/v1/ocsp  ${jpki}/jpki/v1/ca-bundle.pem`,
          );
        }
        const example = exampleInquiry(
          worldFile,
          network.institutions.get('152048')?.url,
          network.pkiDir,
          dataDir === './data' ? '' : ` --data-dir ${dataDir}`,
        );
        if (example) console.log(`\nTry the seeds' 児童手当 exchange as 三条市's clerk:\n${example}\n`);
        if (network.corporate) {
          const ca = network.pkiDir ? ` --cacert ${pkiPaths(network.pkiDir).caBundle}` : '';
          console.log(
            `Look up a corporation (public, no credential):\n` +
              `  npx renkei corporate search とよた --corporate-url ${network.corporate.url}\n` +
              `  curl -s${ca} ${network.corporate.url}/corporate/v1/corporations/7000012050002\n`,
          );
        }
        if (portal?.portal && portal.readerUrl) {
          console.log(
            `マイナポータル Myna Portal: ${portal.portal.url}/login  (card reader ${portal.readerUrl}; ` +
              `the demo residents' cards in ${shortPath(cardsDir)}, PIN ${DEMO_CARD_PIN})\n`,
          );
          if (portal.demoClient) {
            console.log(
              `デモ家計簿アプリ (a client of the portal's 自己情報取得API): ${portal.demoClient.url}/\n`,
            );
          }
        }
        console.log('Press Ctrl-C to stop.');
      },
    );
}

/** Synthetic companies in the demo's corporate-number register, besides the real bodies. */
const DEMO_CORPORATIONS = 3_000;

/** One line on the console for what happened to a supervised node (its output file has the detail). */
function describeEvent(event: SupervisorEvent, dataDir: string): string {
  switch (event.type) {
    case 'exited': {
      const how = event.signal === null ? `exit code ${String(event.code)}` : `signal ${event.signal}`;
      return `${event.node} (process ${event.pid}) exited unexpectedly (${how}); restarting it in ${(event.restartInMs / 1000).toFixed(1)} s`;
    }
    case 'restarted':
      return `${event.node} restarted (process ${event.pid})`;
    case 'gave-up':
      return `${event.node} failed ${event.failures} times in a row right after starting; not restarting it. See ${relative(dataDir, event.outputFile)} under ${dataDir}.`;
  }
}

/** A ready-to-paste inquiry for the demo's first resident, using the addressee number a clerk would type. */
/**
 * The seeds' 児童手当 inquiry about a demo resident, ready to paste: with `renkei inquiry` (given
 * `dataDirOption` when the network is not under the default `./data`), then with curl.
 */
function exampleInquiry(
  worldFile: string,
  requesterUrl: string | undefined,
  pkiDir: string | undefined,
  dataDirOption: string,
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
    `  npx renkei${dataDirOption} inquiry send --institution-url ${requesterUrl} --addressee ${addresseeNumber} --provider 131041 --clause 74 --procedure 074-01 --items 2`,
    `  curl -s${tls} -X POST ${requesterUrl}/business/v1/inquiries -H 'content-type: application/json' -d '${body}'`,
    `  curl -s${tls} '${requesterUrl}/business/v1/inquiries/<processingNumber>?waitMs=5000'`,
  ].join('\n');
}

/** A path as a person types it from here: relative below the working directory, absolute elsewhere. */
function shortPath(path: string): string {
  const below = relative(process.cwd(), path);
  return below === '' || below.startsWith('..') || isAbsolute(below) ? path : below;
}
