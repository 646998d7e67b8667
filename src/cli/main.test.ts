/**
 * The `renkei` program itself: its version, and help after a mistake in any sub-command.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renkei } from './test-support.ts';

const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

describe('renkei', () => {
  it("prints package.json's version with --version", async () => {
    const run = await renkei('--version');
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toBe(packageJson.version);
  });

  it("shows a sub-command's help after a mistake in it, at every level", async () => {
    const [number, codes] = await Promise.all([
      renkei('number', 'generate', '--kind', 'personal'),
      renkei('codes', 'rotate', '--core-url', 'http://127.0.0.1:7100'),
    ]);
    expect(number.status).toBe(1);
    expect(number.stderr).toContain("error: option '--kind <kind>' argument 'personal' is invalid");
    expect(number.stderr).toContain('Usage: renkei number generate [options]');
    expect(codes.status).toBe(1);
    expect(codes.stderr).toContain("error: required option '--institution <id>' not specified");
    expect(codes.stderr).toContain('Usage: renkei codes rotate [options]');
  });
});
