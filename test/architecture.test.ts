/**
 * The dependency direction, checked by a test rather than by goodwill (as X-Road's build does):
 * domain code knows nothing of transport, storage or nodes; no node imports another node; services
 * know nothing of HTTP.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => join(dir, f));
}

function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]/gm)].map((m) => {
    const spec = m[1] ?? '';
    return spec.startsWith('.') ? relative(root, join(root, file, '..', spec)) : spec;
  });
}

const TRANSPORT_AND_STORAGE = ['fastify', 'kysely', 'better-sqlite3', 'pg', 'pino'];

describe('architecture', () => {
  it('keeps domain code free of transport, storage and nodes', () => {
    for (const file of sources('src/domain')) {
      for (const spec of importsOf(file)) {
        expect(TRANSPORT_AND_STORAGE, `${file} imports ${spec}`).not.toContain(spec);
        expect(spec.startsWith('src/nodes') || spec.startsWith('src/cli'), `${file} imports ${spec}`).toBe(
          false,
        );
      }
    }
  });

  it('keeps identifiers pure: no I/O', () => {
    for (const file of sources('src/domain/identifiers')) {
      for (const spec of importsOf(file)) {
        const io = spec.startsWith('node:') && spec !== 'node:crypto';
        expect(io, `${file} imports ${spec}`).toBe(false);
      }
    }
  });

  it('lets no node import another node', () => {
    const nodes = readdirSync(join(root, 'src/nodes'));
    for (const node of nodes) {
      for (const file of sources(`src/nodes/${node}`)) {
        for (const spec of importsOf(file)) {
          const other = nodes.find((n) => n !== node && spec.startsWith(`src/nodes/${n}/`));
          expect(other, `${file} imports ${spec}`).toBeUndefined();
        }
      }
    }
  });

  it('keeps services free of HTTP', () => {
    const services = sources('src/nodes').filter((f) => /service/.test(f));
    expect(services.length).toBeGreaterThan(0);
    for (const file of services) {
      expect(importsOf(file), file).not.toContain('fastify');
    }
  });
});
