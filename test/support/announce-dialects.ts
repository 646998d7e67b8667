/**
 * Says once, at the start of a test run, which databases the storage suites run on, and what was
 * skipped when PostgreSQL was not given (vitest.config.ts).
 */
export default function announceDialects(): void {
  if (process.env.RENKEI_TEST_POSTGRES) {
    process.stdout.write(
      'Storage suites: SQLite, and PostgreSQL at RENKEI_TEST_POSTGRES (project "postgres").\n',
    );
  } else {
    process.stdout.write(
      'Storage suites: SQLite only. RENKEI_TEST_POSTGRES is unset, so their PostgreSQL run was skipped ' +
        '(set it to e.g. postgres://postgres@127.0.0.1:5432/test to run it).\n',
    );
  }
}
