import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RenkeiError } from '../shared/errors.ts';
import { StartWatch, SupervisedNode, startFailure } from './supervisor.ts';

describe('a supervised node that is not ready yet (StartWatch)', () => {
  it('is waited for while its CPU time moves, on a machine too crowded for the limit of wall clock', () => {
    const watch = new StartWatch(120_000, 0);
    // Ten minutes starting, a little CPU every few seconds (a dozen nodes on two cores).
    for (let t = 5_000, cpu = 50; t < 590_000; t += 5_000, cpu += 50) {
      expect(watch.check(t, cpu)).toBe('starting');
    }
  });

  it('is given up when its CPU time stands still for the limit (hung, or waiting for what does not come)', () => {
    const watch = new StartWatch(120_000, 0);
    expect(watch.check(10_000, 800)).toBe('starting');
    expect(watch.check(129_000, 800)).toBe('starting');
    expect(watch.check(130_000, 800)).toBe('stalled');
  });

  it('is given up after five times the limit in all, however busy', () => {
    const watch = new StartWatch(1_000, 0);
    expect(watch.check(4_999, 4_999)).toBe('starting');
    expect(watch.check(5_000, 5_000)).toBe('too-long');
  });

  it('falls back to the limit of wall clock where the CPU time cannot be read (0)', () => {
    const watch = new StartWatch(1_000, 0);
    expect(watch.check(999, 0)).toBe('starting');
    expect(watch.check(1_000, 0)).toBe('stalled');
  });
});

describe('a supervised node that exits before it is ready', () => {
  const dirs: string[] = [];
  const flags = process.env.RENKEI_NODE_FLAGS;
  afterEach(() => {
    if (flags === undefined) delete process.env.RENKEI_NODE_FLAGS;
    else process.env.RENKEI_NODE_FLAGS = flags;
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("is reported by its crash's message, not by the last line of the error's properties, with its output file", async () => {
    // What a node printed when better-sqlite3's native binding was missing: the message, a stack, and
    // the error's `tries` after it, whose last line is `}`.
    const dir = mkdtempSync(join(tmpdir(), 'renkei-supervisor-'));
    dirs.push(dir);
    const crash = join(dir, 'crash.cjs');
    writeFileSync(
      crash,
      "throw Object.assign(new Error('Could not locate the bindings file. Tried:\\n → /x/build/better_sqlite3.node'), { tries: ['/x/build/better_sqlite3.node', '/x/compiled/better_sqlite3.node'] });\n",
    );
    process.env.RENKEI_NODE_FLAGS = `--require ${crash}`;
    const outputFile = join(dir, 'logs', 'core.console.log');
    const node = new SupervisedNode({
      name: 'core',
      kind: 'core',
      configFile: join(dir, 'core.json'),
      outputFile,
      report: () => undefined,
    });
    const failure = await node.start().then(
      () => undefined,
      (error: unknown) => error,
    );
    await node.stop();
    expect(failure).toBeInstanceOf(Error);
    const message = (failure as Error).message;
    expect(message).toContain(
      'core exited before it was ready (exit code 1): Error: Could not locate the bindings file',
    );
    expect(message).toContain(`its output is in ${outputFile}`);
    expect(readFileSync(outputFile, 'utf8')).toContain('tries: [');
  });

  it('is reported as the refusal it printed (ERR_…), even with lines after it', () => {
    const failure = startFailure(
      'institution:152048',
      'ERR_PORT_IN_USE: port 7111 is in use by another program\n(node:1) Warning: something else\n',
      'exit code 1',
      '/data/logs/institution-152048.console.log',
    );
    expect(failure).toBeInstanceOf(RenkeiError);
    expect((failure as RenkeiError).code).toBe('ERR_PORT_IN_USE');
    expect(failure.message).toBe('institution:152048: port 7111 is in use by another program');
  });

  it('names its last line when no error is recognisable, and nothing when it printed nothing', () => {
    expect(startFailure('jlis', 'Killed\n', 'signal SIGKILL', '/l').message).toBe(
      'jlis exited before it was ready (signal SIGKILL): Killed; its output is in /l',
    );
    expect(startFailure('jlis', '', 'exit code 3', '/l').message).toBe(
      'jlis exited before it was ready (exit code 3); its output is in /l',
    );
  });
});
