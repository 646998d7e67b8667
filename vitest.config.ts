import { defineConfig } from 'vitest/config';

/**
 * The storage suites run once per dialect (Kysely's way): on SQLite always, and on PostgreSQL when
 * `RENKEI_TEST_POSTGRES` names one (README.md, "Tests"). These are the files whose nodes keep their
 * data through the store ports only, so that the same test proves the same behaviour on both.
 */
const STORAGE_SUITES = [
  'src/nodes/core/{codes,group-commit,inquiries,inquiry-batches,inquiry-owners,kept-answers,legal-versions,outbound-limits,person-records,records,registry,resident-notices,suspensions}.test.ts',
  'src/nodes/core/console/core-console.test.ts',
  'src/nodes/core/service/anomalies.test.ts',
  'src/nodes/institution/institution.test.ts',
  'src/nodes/institution/console/clerk-console.test.ts',
  'src/nodes/jlis/jlis.test.ts',
  'src/nodes/jlis/cards.test.ts',
  'src/nodes/jlis/identity-changes.test.ts',
  'src/nodes/jlis/service/jpki-certificates.test.ts',
  'src/nodes/jlis/service/bulk-numbering.test.ts',
  'src/nodes/corporate/corporate.test.ts',
  'src/nodes/portal/login.test.ts',
  'src/nodes/portal/application-store.test.ts',
  'src/shared/db.test.ts',
  'src/shared/web/console/accounts.test.ts',
  'test/portal.test.ts',
  'test/portal-api.test.ts',
  'test/storage.test.ts',
  'test/bulk-inquiries.test.ts',
  'test/certificate-holds.test.ts',
  'test/oversight-heads.test.ts',
];

const postgres = process.env.RENKEI_TEST_POSTGRES;

export default defineConfig({
  test: {
    // better-sqlite3 is a native addon: forks isolate it more predictably than worker threads.
    pool: 'forks',
    // Two files at once on two cores (vitest's default is one fewer than the cores): the files mostly
    // wait on their networks' HTTP and fsync, so a second one fills the other core.
    maxWorkers: 2,
    // A worker keeps its loaded modules from one test file to the next. Isolated, every file loaded
    // the system afresh (Fastify, Kysely, zod's schemas, pkijs, the nodes: 1–4 s of CPU a file, 180
    // files): 19 files of src/{domain,shared,protocol} took 30.7 s isolated and 20.0 s shared, back to
    // back; the whole suite, all passing either way, 1,303 s and 526 s (on a machine less loaded for
    // the second). Our code keeps no module-level state (STYLE.md: factories, no singletons), which is
    // what makes sharing safe; a test that needs a fresh module graph belongs in a project of its own
    // with `isolate: true`.
    isolate: false,
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'sqlite',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          // Once per run, in this project only: which dialects the storage suites run on.
          globalSetup: ['test/support/announce-dialects.ts'],
        },
      },
      ...(postgres
        ? [
            {
              extends: true as const,
              test: {
                name: 'postgres',
                include: STORAGE_SUITES,
                env: { RENKEI_TEST_DIALECT: 'postgres', RENKEI_TEST_POSTGRES: postgres },
              },
            },
          ]
        : []),
    ],
  },
});
