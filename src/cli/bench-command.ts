import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import { resolve, join } from 'node:path';
import { mkdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Command } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import { loadLegalTable } from '../domain/legal-table/index.ts';
import { launchNetwork, type Network } from '../network/launch.ts';
import { startNodeProcesses } from '../network/node-processes.ts';
import { seedWorld } from '../network/seed.ts';
import { DEMO_INSTITUTIONS, type World } from '../network/world.ts';
import type { PostgresOption } from '../shared/db.ts';
import { RenkeiError } from '../shared/errors.ts';
import { MAX_INQUIRIES_PER_REQUEST, type InquiryReply } from '../protocol/business.ts';
import { dropTestSchemas } from '../shared/test-databases.ts';
import { processCpuMs } from '../shared/process-cpu.ts';
import { startBareChain } from './bench-baseline.ts';
import { benchNumbering } from './bench-numbering.ts';
import { benchStatistics } from './bench-statistics.ts';
import { benchUnitCosts } from './bench-unit-costs.ts';
import { generateCoreKeys } from '../nodes/core/keys.ts';
import { CodeCipher, LINKING_CODE_BYTES } from '../nodes/core/service/code-cipher.ts';
import { plural, table, wholeNumberOption, type GlobalOptions } from './output.ts';

const REQUESTER = '152048'; // 三条市 (X市)
const PROVIDER = '131041'; // 新宿区 (A市)
/** More exchanges in flight than this only queue up in the nodes' connection pools. */
const MAX_CONCURRENCY = 10_000;
const MAX_COUNT = 10_000_000;
const MAX_PERSONS = 100_000;

/**
 * `renkei bench`: drive inquiries through the full path of a freshly started network — requester's
 * intermediate server → core → provider's intermediate server → core → requester — and print
 * exchanges per second and latency percentiles. By default the network is the one `renkei start`
 * runs (every node an OS process of its own, secured), so the figure is the deployed shape's; with
 * `--in-process` every node runs in the bench's own process, over the bare path and over the
 * secured one in the same run (what the trust layer costs). A script that prints figures, not a
 * timed test.
 */
export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description('measure exchanges per second and latency through the full path of a fresh network')
    .option('--count <n>', `exchanges to measure, at most ${MAX_COUNT}`, '2000')
    .option('--concurrency <n>', `exchanges in flight at once, at most ${MAX_CONCURRENCY}`, '32')
    .option('--persons <n>', `distinct residents to ask about, at most ${MAX_PERSONS}`, '200')
    .option('--keep', 'keep the bench databases afterwards')
    .option(
      '--database <url>',
      "the nodes' databases in PostgreSQL (postgres://…; schemas under a fresh prefix, dropped afterwards unless --keep) instead of SQLite files",
    )
    .option('--workers <n>', 'core processes (more than 1 needs --database)', '1')
    .option(
      '--in-process',
      'every node in this process (one core): over the bare and the secured path; with --bulk, for a CPU profile of all three',
    )
    .option(
      '--warmup <n>',
      'exchanges run unmeasured before measuring, on each path (default 200, at most --count); V8 is still compiling the nodes after 200: 3000 gives their steady state',
    )
    .option('--baseline', 'also drive a bare relay chain of the same four hops, and print the ratios')
    .option('--rate <n>', 'open loop: start this many exchanges per second, instead of --concurrency')
    .option(
      '--per-request <k>',
      `each clerk's request carries k inquiries (inquiries:batch, at most ${MAX_INQUIRIES_PER_REQUEST}); --concurrency counts requests`,
      '1',
    )
    .option(
      '--conversions <n>',
      'instead: convert n codes from one institution to another, and print the rate',
    )
    .option(
      '--numbering <n>',
      "instead: J-LIS's bulk numbering of n residents from a file, beside the raw insert",
    )
    .option(
      '--bulk <n>',
      `instead: one bulk inquiry (一括照会) of n persons over the secured path, at most ${MAX_COUNT}`,
    )
    .option(
      '--unit-costs [n]',
      "instead: the CPU cost of each operation the brief's decisions need (TLS, signatures, seals, commits), n runs each, and the floor they set per exchange",
    )
    .option(
      '--statistics <n>',
      "instead: n exchanges on the demo network in seed 000's proportions, then its two tables beside the seed's",
    )
    .action(
      async (options: {
        inProcess?: boolean;
        count: string;
        warmup?: string;
        concurrency: string;
        persons: string;
        keep?: boolean;
        database?: string;
        workers: string;
        bulk?: string;
        baseline?: boolean;
        conversions?: string;
        rate?: string;
        perRequest: string;
        numbering?: string;
        statistics?: string;
        unitCosts?: string | true;
      }) => {
        const rate =
          options.rate === undefined ? undefined : wholeNumberOption(options.rate, '--rate', 1, 100_000);
        if (options.unitCosts !== undefined) {
          await benchUnitCosts(
            options.unitCosts === true
              ? 2000
              : wholeNumberOption(options.unitCosts, '--unit-costs', 100, 1_000_000),
          );
          return;
        }
        if (options.conversions !== undefined) {
          benchConversions(wholeNumberOption(options.conversions, '--conversions', 1, MAX_COUNT));
          return;
        }
        if (options.numbering !== undefined) {
          const total = wholeNumberOption(options.numbering, '--numbering', 1, 100_000_000);
          const { dataDir } = program.opts<GlobalOptions>();
          mkdirSync(resolve(dataDir), { recursive: true });
          const dir = mkdtempSync(join(resolve(dataDir), 'bench-numbering-'));
          try {
            await benchNumbering({ dir, total });
          } finally {
            if (!options.keep) rmSync(dir, { recursive: true, force: true });
          }
          return;
        }
        if (options.statistics !== undefined) {
          const n = wholeNumberOption(options.statistics, '--statistics', 1, MAX_COUNT);
          const { dataDir } = program.opts<GlobalOptions>();
          mkdirSync(resolve(dataDir), { recursive: true });
          const dir = mkdtempSync(join(resolve(dataDir), 'bench-statistics-'));
          process.env.RENKEI_LOG_LEVEL ??= 'warn';
          try {
            await benchStatistics({
              dir,
              legalTable: loadLegalTable(),
              n,
              concurrency: wholeNumberOption(options.concurrency, '--concurrency', 1, MAX_CONCURRENCY),
            });
          } finally {
            if (!options.keep) rmSync(dir, { recursive: true, force: true });
          }
          return;
        }
        const count = wholeNumberOption(options.count, '--count', 1, MAX_COUNT);
        const warmup =
          options.warmup === undefined
            ? Math.min(200, count)
            : wholeNumberOption(options.warmup, '--warmup', 0, MAX_COUNT);
        const concurrency = wholeNumberOption(options.concurrency, '--concurrency', 1, MAX_CONCURRENCY);
        const persons = wholeNumberOption(options.persons, '--persons', 1, MAX_PERSONS);
        const perRequest = wholeNumberOption(
          options.perRequest,
          '--per-request',
          1,
          MAX_INQUIRIES_PER_REQUEST,
        );
        if (count % perRequest !== 0) {
          const whole = Math.ceil(count / perRequest) * perRequest;
          console.error(`bench: --count ${count} is measured as ${whole}: whole requests of ${perRequest}.`);
        }
        const workers = wholeNumberOption(options.workers, '--workers', 1, 16);
        if (workers > 1 && options.database === undefined) {
          throw new RenkeiError(
            'ERR_VALIDATION',
            '--workers above 1 needs --database: core processes share one PostgreSQL database.',
          );
        }
        const postgres: PostgresOption | undefined =
          options.database === undefined
            ? undefined
            : { url: options.database, schemaPrefix: `bench${randomBytes(4).toString('hex')}_` };
        const { dataDir } = program.opts<GlobalOptions>();
        mkdirSync(resolve(dataDir), { recursive: true });
        const dir = mkdtempSync(join(resolve(dataDir), 'bench-'));
        process.env.RENKEI_LOG_LEVEL ??= 'warn';

        const legalTable = loadLegalTable();
        const world: World = {
          institutions: DEMO_INSTITUTIONS.filter((i) => i.id === REQUESTER || i.id === PROVIDER),
          residents: Array.from({ length: persons }, (_, i) => ({
            key: `r${i}`,
            name: `試験 太郎${i}`,
            nameKana: `シケン タロウ`,
            address: '新潟県三条市旭町二丁目3番1号',
            dateOfBirth: '1985-04-01',
            sex: 'male' as const,
            knownAt: [REQUESTER, PROVIDER],
            copies: { [PROVIDER]: { 2: {} } },
          })),
        };
        if (options.bulk !== undefined) {
          const total = wholeNumberOption(options.bulk, '--bulk', 1, MAX_COUNT);
          try {
            await benchBulk({
              dir,
              world,
              legalTable,
              total,
              inProcess: options.inProcess === true,
              postgres,
              workers,
            });
          } finally {
            if (!options.keep) {
              rmSync(dir, { recursive: true, force: true });
              await dropTestSchemas(postgres);
            }
          }
          return;
        }
        const rows: (string | number)[][] = [];
        /** CPU ms per exchange by process, one line per path run as processes. */
        const cpuSplit: string[] = [];
        /** How the requester's inquiries went to the core (alone, or in batches), per path. */
        const sendSplit: string[] = [];
        try {
          if (options.inProcess) {
            // The same exchanges over the bare path (plain HTTP, no signatures) and the secured one
            // (mutual TLS, every message signed and checked), one after the other in this process:
            // the difference is what the trust layer costs on this machine today.
            for (const secure of [false, true]) {
              const path = secure ? 'secured' : 'bare';
              console.error(`${path}: starting a network in this process…`);
              const network = await launchNetwork({
                dataDir: join(dir, path),
                legalTable,
                institutions: world.institutions,
                basePort: 0,
                secure,
                ...(postgres === undefined
                  ? {}
                  : { postgres: { ...postgres, schemaPrefix: `${postgres.schemaPrefix}${path}_` } }),
              });
              rows.push(await measure(path, network, join(dir, path)));
            }
          } else {
            // The deployed shape: each node its own process (the secured path only: a node started
            // by `renkei node` always runs the trust layer). The bench process is the clerks' side.
            console.error('secured: starting the network, one process per node…');
            const network = await startNodeProcesses({
              dataDir: join(dir, 'secured'),
              institutions: world.institutions,
              basePort: 0,
              ...(postgres === undefined ? {} : { postgres }),
              ...(workers === 1 ? {} : { workers }),
              report: (event) => {
                if (event.type !== 'restarted') console.error(`bench: ${event.node} ${event.type}`);
              },
            });
            rows.push(await measure('secured', network, join(dir, 'secured')));
          }
          if (options.baseline) {
            console.error('bare chain: starting three plain relays (requester, core, provider)…');
            const chain = await startBareChain();
            try {
              rows.push(
                await drive('bare chain', { count, warmup, concurrency, perRequest, rate }, () =>
                  chain.exchange(perRequest),
                ),
              );
            } finally {
              await chain.close();
            }
          }
        } finally {
          if (!options.keep) {
            rmSync(dir, { recursive: true, force: true });
            await dropTestSchemas(postgres);
          }
        }
        console.log(
          table(
            [
              'path',
              'exchanges',
              'concurrency',
              'seconds',
              'exchanges/s',
              'p50 ms',
              'p90 ms',
              'p99 ms',
              'max ms',
              'CPU ms/exchange',
              'outcomes',
            ],
            rows,
          ),
        );
        if (cpuSplit.length > 0)
          console.log(`CPU ms per exchange by process (after the warm-up): ${cpuSplit.join('; ')}.`);
        // A batch's fixed cost is most of an exchange's CPU at these sizes: how large they were.
        if (sendSplit.length > 0)
          console.log(`Sends to the core (warm-up included): ${sendSplit.join('; ')}.`);
        // In the open loop every path carries the offered rate: compare their latencies instead.
        if (options.baseline && rate === undefined) {
          const rateOf = (label: string) => Number(rows.find((r) => r[0] === label)?.[4] ?? 0);
          const limit = rateOf('bare chain');
          if (limit > 0) {
            const shares = rows
              .filter((r) => r[0] !== 'bare chain')
              .map((r) => `${String(r[0])} path ${((100 * rateOf(String(r[0]))) / limit).toFixed(0)}%`);
            console.log(`Of the bare chain's ${limit} exchanges/s: ${shares.join(', ')}.`);
          }
        }
        console.log(
          'Each exchange: clerk POST to the requester, waiting for the answer → core authorizes, converts, records → provider answers from its copy → core records, delivers → the clerk’s POST is answered. The requester sends the inquiries that arrive while a send is in flight to the core as one batch (the bare chain relays each alone).' +
            (perRequest === 1
              ? ''
              : ` Each clerk’s POST carries ${perRequest} inquiries (inquiries:batch; the bare chain’s /inquiry-sets), answered together: the latencies are the requests’.`),
        );
        console.log(
          (options.inProcess
            ? 'Every node and the load in this one process. bare: plain HTTP between nodes, nothing signed; '
            : 'One OS process per node (renkei start), the load in the bench process. ') +
            'secured: mutual TLS 1.3, certificates checked, every message between nodes signed (ES256) and verified.',
        );
        console.log(
          'CPU ms/exchange: CPU time (user + system) of every process of the path, the load generator included, per exchange: unlike exchanges/s it hardly moves when other work shares the machine.',
        );

        /** Seed the network's residents, drive the exchanges, and stop it: the table row. */
        async function measure(
          path: string,
          network: Network,
          dataDir: string,
        ): Promise<(string | number)[]> {
          // The PostgreSQL server's processes serving this run, when the nodes are on it.
          const backends = postgres && (await postgresBackends(postgres.url, postgres.schemaPrefix ?? ''));
          try {
            console.error(`${path}: seeding ${plural(persons, 'resident')}…`);
            const seeded = await seedWorld(network, world, legalTable);
            const requester = network.institution(REQUESTER);
            const keys = [...seeded.residents.keys()];

            const addresseeNumber = (i: number) =>
              seeded.addresseeNumber(keys[i % keys.length] ?? 'r0', REQUESTER);
            const inquiry = (i: number) => ({
              addresseeNumber: addresseeNumber(i),
              providerId: PROVIDER,
              clauseNo: '74',
              procedureId: '074-01',
              itemNos: [2],
            });
            /** Read again an inquiry whose answer took longer than the wait. */
            const later = async (reply: InquiryReply) =>
              'outcome' in reply && reply.status === 'answered'
                ? reply.outcome
                : (
                    await requester.getInquiry({
                      params: { processingNumber: reply.processingNumber },
                      query: { waitMs: 30_000 },
                    })
                  ).outcome;
            // One request carries the inquiry (or k of them) and the answers (`waitMs`).
            const exchange = async (i: number): Promise<string[]> => {
              if (perRequest === 1) {
                return [await later(await requester.inquire({ body: { ...inquiry(i), waitMs: 30_000 } }))];
              }
              const { results } = await requester.inquireMany({
                body: {
                  inquiries: Array.from({ length: perRequest }, (_, j) => inquiry(i * perRequest + j)),
                  waitMs: 30_000,
                },
              });
              return Promise.all(
                results.map((r) => (r.status === 'error' ? Promise.resolve(r.error.code) : later(r))),
              );
            };

            // The nodes' processes (one process per node: /proc) and this one (the clerks' side).
            const processes =
              'pid' in network.core
                ? network.nodes().map((n) => ({ name: n.name, pid: (n as { pid?: number }).pid }))
                : [];
            const cpuByProcess = () => [
              ['bench (clerks)', ownCpuMs()] as const,
              ...processes.map((p) => [p.name, p.pid === undefined ? 0 : processCpuMs(p.pid)] as const),
              ...(backends ? [['PostgreSQL', backends.cpuMs()] as const] : []),
            ];
            const cpu = () => cpuByProcess().reduce((sum, [, ms]) => sum + ms, 0);
            let before = new Map(cpuByProcess());
            const row = await drive(
              path,
              { count, warmup, concurrency, perRequest, rate },
              exchange,
              cpu,
              () => {
                before = new Map(cpuByProcess());
              },
            );
            // The measured exchanges only, as the table's total: the split is what this line adds.
            if (processes.length > 0) {
              const split = cpuByProcess()
                .map(([name, ms]) => `${name} ${((ms - (before.get(name) ?? 0)) / count).toFixed(2)}`)
                .join(', ');
              cpuSplit.push(`${path}: ${split}`);
            }
            const sends = await sendsToCore(
              join(dataDir, 'core', 'core.sqlite'),
              postgres && {
                url: postgres.url,
                schema: `${postgres.schemaPrefix ?? ''}${options.inProcess ? `${path}_` : ''}core`,
              },
            );
            if (sends) sendSplit.push(`${path}: ${sends}`);
            return row;
          } finally {
            await backends?.close();
            await network.close();
          }
        }
      },
    );
}

/** How the core received the run's inquiries: from its SQLite file, or its PostgreSQL schema. */
const SENDS_SQL =
  'SELECT count(*) AS inquiries, count(DISTINCT batch_id) AS batches, count(*) - count(batch_id) AS alone FROM inquiries';

/**
 * How the core received the run's inquiries, from its database: how many sends (batches, and
 * inquiries alone) and their mean size. Undefined where the core's database is not there to read.
 */
async function sendsToCore(
  file: string,
  postgres: { url: string; schema: string } | undefined,
): Promise<string | undefined> {
  let row: { inquiries: number | string; batches: number | string; alone: number | string };
  if (postgres) {
    const client = new pg.Client({ connectionString: postgres.url });
    await client.connect();
    try {
      row = (
        await client.query<typeof row>(
          SENDS_SQL.replace('FROM inquiries', `FROM "${postgres.schema}".inquiries`),
        )
      ).rows[0]!;
    } finally {
      await client.end();
    }
  } else {
    if (!existsSync(file)) return undefined;
    const core = new Database(file, { readonly: true, fileMustExist: true });
    try {
      row = core.prepare(SENDS_SQL).get() as typeof row;
    } finally {
      core.close();
    }
  }
  const [inquiries, batches, alone] = [row.inquiries, row.batches, row.alone].map(Number) as [
    number,
    number,
    number,
  ];
  const sends = batches + alone;
  if (sends === 0) return undefined;
  return `${inquiries} inquiries in ${sends} sends (${batches} batches, ${alone} alone), ${(inquiries / sends).toFixed(1)} per send`;
}

async function runPool(
  total: number,
  concurrency: number,
  task: (i: number) => Promise<unknown>,
  done: () => void,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const i = next++;
      await task(i);
      done();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
}

/**
 * `--bulk n`: one bulk inquiry of n persons (cycling through the seeded residents) from 三条市 to
 * 新宿区 over the secured path, followed to the last answer; prints persons per second.
 */
async function benchBulk(args: {
  dir: string;
  world: World;
  legalTable: ReturnType<typeof loadLegalTable>;
  total: number;
  inProcess: boolean;
  postgres: PostgresOption | undefined;
  workers: number;
}): Promise<void> {
  const { dir, world, legalTable, total, inProcess, postgres, workers } = args;
  const onPostgres = postgres === undefined ? {} : { postgres };
  // One process per node, as `renkei start` runs them: the requester, the core and the provider
  // then share the machine's cores instead of one event loop.
  console.error(`bulk: starting a network, ${inProcess ? 'in this process' : 'one process per node'}…`);
  const processes = inProcess
    ? undefined
    : await startNodeProcesses({
        dataDir: join(dir, 'bulk'),
        institutions: world.institutions,
        basePort: 0,
        ...onPostgres,
        ...(workers === 1 ? {} : { workers }),
        report: (event) => console.error(`bulk: ${JSON.stringify(event)}`),
      });
  const network =
    processes ??
    (await launchNetwork({
      dataDir: join(dir, 'bulk'),
      legalTable,
      institutions: world.institutions,
      basePort: 0,
      ...onPostgres,
    }));
  const backends = postgres && (await postgresBackends(postgres.url, postgres.schemaPrefix ?? ''));
  // CPU time is what the machine's load does not change: the figure to compare runs by.
  const cpuSeconds = () =>
    (processes
      ? processes.nodes().reduce((sum, node) => sum + processCpuSeconds(node.pid), 0)
      : process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6) +
    (backends?.cpuMs() ?? 0) / 1000;
  try {
    console.error(`bulk: seeding ${plural(world.residents.length, 'resident')}…`);
    const seeded = await seedWorld(network, world, legalTable);
    const requester = network.institution(REQUESTER);
    const keys = [...seeded.residents.keys()];
    const addresseeNumbers = Array.from({ length: total }, (_, i) =>
      seeded.addresseeNumber(keys[i % keys.length] ?? 'r0', REQUESTER),
    );
    const started = performance.now();
    const cpuBefore = cpuSeconds();
    const accepted = await requester.submitBulkInquiry({
      body: { providerId: PROVIDER, clauseNo: '74', procedureId: '074-01', itemNos: [2], addresseeNumbers },
    });
    const submitted = performance.now();
    const bar = new SingleBar(
      { format: 'bulk [{bar}] {value}/{total} answered {eta}s left', stream: process.stderr },
      Presets.shades_classic,
    );
    bar.start(total, 0);
    let status = accepted;
    while (status.status !== 'done') {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      status = await requester.getBulkInquiry({ params: { bulkNumber: accepted.bulkNumber } });
      bar.update(status.finished);
    }
    bar.stop();
    const seconds = (performance.now() - started) / 1000;
    const cpu = cpuSeconds() - cpuBefore;
    if (processes) {
      const byNode = processes
        .nodes()
        .map((node) => `${node.name} ${processCpuSeconds(node.pid).toFixed(1)}`)
        .concat(backends ? [`PostgreSQL ${(backends.cpuMs() / 1000).toFixed(1)}`] : [])
        .join(', ');
      console.log(`CPU s by node (since start, seeding included): ${byNode}`);
    }
    const { outcomes } = status;
    console.log(
      table(
        [
          'persons',
          'submit s',
          'total s',
          'persons/s',
          'CPU s',
          'persons/CPU s',
          'provided',
          'not held',
          'refused',
          'failed',
        ],
        [
          [
            total,
            ((submitted - started) / 1000).toFixed(2),
            seconds.toFixed(1),
            Math.round(total / seconds),
            cpu.toFixed(1),
            Math.round(total / cpu),
            outcomes.provided,
            outcomes.not_held,
            outcomes.refused,
            outcomes.failed,
          ],
        ],
      ),
    );
    console.log(
      'One bulk inquiry: the persons stored at the requester, then sent in batches of up to 1,000 over the secured path (requester → core → provider → core → requester), each person an exchange of its own recorded at the three parties. CPU s: the nodes’ CPU time (user + system), which the machine’s other load does not change' +
        (backends ? ', with the PostgreSQL server processes serving them.' : '.'),
    );
  } finally {
    await backends?.close();
    await network.close();
  }
}

/** A process's CPU time (user + system) from /proc, in seconds; 0 where it cannot be read. */
function processCpuSeconds(pid: number | undefined): number {
  return processCpuMs(pid) / 1000;
}

/**
 * Warm up (`warmup` exchanges, unmeasured), then run `count` exchanges `concurrency` at a time, with a
 * progress bar: the table row. The warm-up matters to the CPU figure: V8 is still compiling the nodes'
 * code a few thousand exchanges into a fresh network (its optimising compiler was about a fifth of
 * each process's CPU 20 s into a run), a cost a node running for days does not pay per exchange.
 */
async function drive(
  path: string,
  load: {
    count: number;
    warmup: number;
    /** Requests in flight at once (closed loop). */
    concurrency: number;
    /** Exchanges (inquiries) each request carries: the figures count exchanges, not requests. */
    perRequest: number;
    /** Open loop: start exchanges at this many per second whatever the answers do, instead of a pool. */
    rate?: number | undefined;
  },
  /** One request of `perRequest` exchanges; its outcomes. */
  request: (i: number) => Promise<string[]>,
  /** CPU milliseconds used so far by the processes of the path. */
  cpuMs: () => number = ownCpuMs,
  /** Called when the warm-up is over and the measured exchanges start. */
  measuring: () => void = () => undefined,
): Promise<(string | number)[]> {
  const { concurrency, perRequest, rate } = load;
  const requests = Math.ceil(load.count / perRequest);
  const count = requests * perRequest;
  await runPool(Math.ceil(load.warmup / perRequest), concurrency, request, () => undefined);
  measuring();

  const bar = new SingleBar(
    { format: `${path} [{bar}] {value}/{total} {eta}s left`, stream: process.stderr },
    Presets.shades_classic,
  );
  bar.start(count, 0);
  const latencies: number[] = [];
  const outcomes = new Map<string, number>();
  const started = performance.now();
  const cpuAtStart = cpuMs();
  /** One request, each of its exchanges' latency counted from when it was due (so a slow answer cannot hide a queue). */
  const one = async (i: number, due: number) => {
    let answered: string[];
    try {
      answered = await request(i);
    } catch (error) {
      answered = Array.from({ length: perRequest }, () =>
        error instanceof RenkeiError ? error.code : 'error',
      );
    }
    const latency = performance.now() - due;
    for (const outcome of answered) {
      latencies.push(latency);
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }
    bar.increment(answered.length);
  };
  if (rate === undefined) {
    await runPool(
      requests,
      concurrency,
      (i) => one(i, performance.now()),
      () => undefined,
    );
  } else {
    const requestRate = rate / perRequest;
    await new Promise<void>((resolve) => {
      let launched = 0;
      let done = 0;
      const tick = () => {
        const dueNow = Math.min(
          requests,
          Math.floor(((performance.now() - started) * requestRate) / 1000) + 1,
        );
        while (launched < dueNow) {
          const i = launched++;
          void one(i, started + (i * 1000) / requestRate).then(() => {
            if (++done === requests) resolve();
          });
        }
        if (launched < requests) setTimeout(tick, 1);
      };
      tick();
    });
  }
  const elapsed = (performance.now() - started) / 1000;
  const cpuPerExchange = (cpuMs() - cpuAtStart) / count;
  bar.stop();

  latencies.sort((x, y) => x - y);
  const pct = (p: number) =>
    (latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))] ?? 0).toFixed(1);
  const inFlight = perRequest === 1 ? `${concurrency}` : `${concurrency} × ${perRequest}`;
  return [
    path,
    count,
    rate === undefined ? inFlight : `${rate}/s open${perRequest === 1 ? '' : `, ${perRequest} per request`}`,
    elapsed.toFixed(2),
    (count / elapsed).toFixed(0),
    pct(50),
    pct(90),
    pct(99),
    (latencies.at(-1) ?? 0).toFixed(1),
    cpuPerExchange.toFixed(2),
    [...outcomes].map(([k, v]) => `${k}: ${v}`).join(', '),
  ];
}

/** This process's CPU time so far, user and system, in milliseconds. */
function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/**
 * The CPU time of the PostgreSQL server processes serving this run's nodes: the work the database
 * does for the path, which the nodes' own CPU does not show. A node's connections carry its schema
 * as their `application_name` (db.ts), so they are found in `pg_stat_activity` by the run's schema
 * prefix, looked for again every 200 ms (pools open connections as load grows); each one's CPU is
 * read from /proc (the server on this machine, as in CI and the development machine; 0 otherwise).
 * A connection that closes keeps its last reading: the figure is then a lower bound.
 */
async function postgresBackends(
  url: string,
  prefix: string,
): Promise<{ cpuMs: () => number; close: () => Promise<void> }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const lastSeen = new Map<number, number>();
  const find = async () => {
    const { rows } = await client.query<{ pid: number }>(
      'select pid from pg_stat_activity where starts_with(application_name, $1)',
      [prefix],
    );
    for (const { pid } of rows) if (!lastSeen.has(pid)) lastSeen.set(pid, processCpuMs(pid));
  };
  await find();
  let finding = Promise.resolve();
  const timer = setInterval(() => {
    finding = finding.then(find).catch(() => undefined);
  }, 200);
  return {
    cpuMs: () => {
      let sum = 0;
      for (const [pid, ms] of lastSeen) {
        const now = Math.max(ms, processCpuMs(pid));
        lastSeen.set(pid, now);
        sum += now;
      }
      return sum;
    },
    close: async () => {
      clearInterval(timer);
      await finding;
      await client.end();
    },
  };
}

/** USER_HZ: 100 on every Linux that Node runs on. */

/** Codes per call on the batch path: what a bulk inquiry's chunk would hand the cipher. */
const CONVERSION_BATCH = 4096;

/**
 * `--conversions n`: the core's code conversion alone (decode the requester's code, encode the
 * provider's: what every inquiry does), n times in this process on one core: in batches of 4,096
 * (`convertMany`, the path for bulk inquiries), then one code at a time (`decode` then `encode`, the
 * path of a single inquiry today). Each path first runs one batch unmeasured, so that both are timed
 * after the JIT has compiled them and the two keys are derived.
 */
function benchConversions(n: number): void {
  const cipher = new CodeCipher(generateCoreKeys());
  const batchCount = Math.min(Math.ceil(n / CONVERSION_BATCH), 16);
  const batches = Array.from({ length: batchCount }, () =>
    cipher.encodeMany(
      REQUESTER,
      1,
      Array.from({ length: CONVERSION_BATCH }, () => new Uint8Array(randomBytes(LINKING_CODE_BYTES))),
    ),
  );
  const codes = batches.flat();
  const window = { current: 1, previous: 1 };

  const measure = (path: string, convert: (count: number) => number): (string | number)[] => {
    convert(Math.min(n, CONVERSION_BATCH));
    const started = performance.now();
    const failed = convert(n);
    const seconds = (performance.now() - started) / 1000;
    return [path, n, seconds.toFixed(2), Math.round(n / seconds), failed];
  };
  const rows = [
    measure(`batches of ${CONVERSION_BATCH}`, (count) => {
      let failed = 0;
      for (let done = 0, b = 0; done < count; done += CONVERSION_BATCH, b++) {
        const batch = batches[b % batches.length] ?? [];
        const converted = cipher.convertMany(
          REQUESTER,
          window,
          count - done < batch.length ? batch.slice(0, count - done) : batch,
          PROVIDER,
          1,
        );
        for (const code of converted) if (code === undefined) failed++;
      }
      return failed;
    }),
    measure('one at a time', (count) => {
      let failed = 0;
      for (let i = 0; i < count; i++) {
        const linking = cipher.decode(REQUESTER, codes[i % codes.length] ?? '', window);
        if (linking) cipher.encode(PROVIDER, 1, linking);
        else failed++;
      }
      return failed;
    }),
  ];
  console.log(table(['path', 'conversions', 'seconds', 'conversions/s', 'failed'], rows));
  console.log(
    'Each conversion: AES-256-GCM-SIV open of the requester’s code, seal under the provider’s key ' +
      '(AES in node:crypto, a batch’s blocks in one call; POLYVAL in JavaScript).',
  );
}
