import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { closeLogger, createLogger, logFiles, readLog } from './logger.ts';

let dir: string;
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("a node's log file", () => {
  it('rotates by size and keeps only the configured number of old files', async () => {
    dir = mkdtempSync(join(tmpdir(), 'renkei-log-'));
    const file = join(dir, 'logs', 'core.log');
    const logger = await createLogger({ node: 'core', file, rotation: { size: 1024, keep: 2 } });
    for (let i = 0; i < 300; i++) {
      logger.info({ processingNumber: `pn-${i}` }, 'an exchange ended');
      // Let the asynchronous stream write, so that sizes are seen as they grow.
      if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await closeLogger(logger);
    const files = logFiles(file);
    expect(files.length).toBeGreaterThan(1);
    expect(files.length).toBeLessThanOrEqual(3); // two old ones and the current one
    expect(readdirSync(join(dir, 'logs')).every((name) => /^core\.[0-9]+\.log$/.test(name))).toBe(true);
    const kept = readLog(file);
    expect(kept).toContain('"pn-299"'); // the newest lines are kept…
    expect(kept).not.toContain('"pn-0"'); // …and the oldest rotated away
  });

  it('keeps writing to the same file across a restart until it rotates', async () => {
    dir = mkdtempSync(join(tmpdir(), 'renkei-log-'));
    const file = join(dir, 'logs', 'jlis.log');
    for (const run of [1, 2]) {
      const logger = await createLogger({ node: 'jlis', file });
      logger.info({ run }, 'started');
      await closeLogger(logger);
    }
    expect(logFiles(file)).toHaveLength(1);
    expect(readLog(file)).toMatch(/"run":1[^]*"run":2/);
  });
});
