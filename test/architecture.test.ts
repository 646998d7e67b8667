/**
 * The dependency direction, checked by a test rather than by goodwill (as X-Road's build does).
 * From the bottom up:
 *
 *   shared/, protocol/identifiers.ts   errors, clock, logging, storage seam; the wire identifiers
 *   domain/                            pure: identifiers, the legal table
 *   trust/                             the trust layer's cryptography (PKI, signed envelopes, Merkle log)
 *   protocol/                          messages, the route table, typed clients, the transport seam
 *   nodes/<node>/                      core, J-LIS, institution: each alone, none imports another
 *   network/                           the launcher, the demo world and the seeds' scenarios
 *   cli/                               the `renkei` command
 *
 * A layer imports only layers below it. Services know nothing of HTTP; a node reaches another only
 * through a typed client over the transport its `main.ts` gives it.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');

function sources(dir: string): string[] {
  if (!exists(dir)) return [];
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

const TRANSPORT_AND_STORAGE = ['fastify', 'kysely', 'better-sqlite3', 'pg', 'pino', 'undici'];

const LAYERS = [
  'src/shared',
  'src/domain',
  'src/trust',
  'src/protocol',
  'src/nodes',
  'src/network',
  'src/cli',
];

/** The layer of a source path, by its index in LAYERS; -1 for anything else (packages, node:). */
function layerOf(path: string): number {
  if (path === 'src/protocol/identifiers.ts') return 0;
  return LAYERS.findIndex((layer) => path.startsWith(`${layer}/`));
}

function exists(path: string): boolean {
  return existsSync(join(root, path));
}

describe('architecture', () => {
  it('keeps domain code free of transport, storage and nodes', () => {
    for (const file of sources('src/domain')) {
      for (const spec of importsOf(file)) {
        expect(TRANSPORT_AND_STORAGE, `${file} imports ${spec}`).not.toContain(spec);
        expect(layerOf(spec), `${file} imports ${spec}`).toBeLessThanOrEqual(layerOf(file));
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

  it('lets each layer import only the layers below it', () => {
    const checked = LAYERS.flatMap((layer) => sources(layer));
    expect(checked.length).toBeGreaterThan(50);
    for (const file of checked) {
      for (const spec of importsOf(file)) {
        if (!spec.startsWith('src/')) continue;
        expect(layerOf(spec), `${file} imports ${spec}`).toBeLessThanOrEqual(layerOf(file));
      }
    }
  });

  it('keeps the trust layer free of transport, storage and the protocol', () => {
    for (const file of sources('src/trust')) {
      for (const spec of importsOf(file)) {
        expect(TRANSPORT_AND_STORAGE, `${file} imports ${spec}`).not.toContain(spec);
      }
    }
  });

  it('lets nodes reach other nodes only through typed clients over the transport main.ts gives them', () => {
    for (const file of sources('src/nodes').filter((f) => !f.endsWith('test-support.ts'))) {
      for (const spec of importsOf(file)) {
        expect(spec, `${file} imports ${spec}`).not.toBe('undici');
        expect(spec, `${file} imports ${spec}`).not.toBe('src/protocol/raw-client.ts');
        if (spec === 'src/protocol/http-transport.ts') {
          expect(file, `${file} makes its own transport`).toMatch(/\/(main|test-support)\.ts$/);
        }
      }
    }
  });

  it('keeps the raw client (no route table, no schema) for tests and probes only', () => {
    for (const layer of LAYERS) {
      for (const file of sources(layer)) {
        if (file.endsWith('test-support.ts')) continue;
        expect(importsOf(file), file).not.toContain('src/protocol/raw-client.ts');
      }
    }
  });

  it('gives every node one shape: README, factory, main, router, services, storage port and adapter', () => {
    const nodes = readdirSync(join(root, 'src/nodes'));
    expect(nodes.sort()).toEqual(['core', 'corporate', 'institution', 'jlis', 'portal']);
    for (const node of nodes) {
      const dir = `src/nodes/${node}`;
      for (const file of ['README.md', `${node}.ts`, 'main.ts', 'router.ts']) {
        expect(exists(`${dir}/${file}`), `${dir}/${file}`).toBe(true);
      }
      const files = sources(dir);
      expect(
        files.some((f) => /\/service\/[^/]+\.ts$/.test(f)),
        `${dir} has service classes under service/`,
      ).toBe(true);
      const ports = files.filter((f) => f.endsWith('/store.ts'));
      expect(ports.length, `${dir} has a storage port`).toBeGreaterThan(0);
      for (const port of ports) {
        expect(
          exists(port.replace(/store\.ts$/, 'kysely-store.ts')),
          `${port} has its adapter beside it`,
        ).toBe(true);
        for (const spec of importsOf(port)) {
          expect(TRANSPORT_AND_STORAGE, `${port} imports ${spec}`).not.toContain(spec);
        }
      }
    }
  });

  it('serves every route of the route table from exactly one router', () => {
    const routers = sources('src/nodes').filter((f) => f.endsWith('/router.ts'));
    const table = readFileSync(join(root, 'src/protocol/routes.ts'), 'utf8');
    // A part of an API (`pickRoutes`) holds the API's own entries: a route served from it is the API's.
    const partOf = new Map(
      [...table.matchAll(/export const (\w+) = pickRoutes\((\w+Api),/g)].map((m) => [m[1], m[2]]),
    );
    const served = routers.flatMap((f) =>
      [...readFileSync(join(root, f), 'utf8').matchAll(/serve\(app, (\w+)\.(\w+)/g)].map(
        (m) => `${partOf.get(m[1] ?? '') ?? m[1]}.${m[2]}`,
      ),
    );
    const declared = [
      ...table.matchAll(/export const (\w+Api) = defineApi\('\w+', \{([\s\S]*?)\n\}\);/g),
    ].flatMap((m) => [...(m[2] ?? '').matchAll(/^ {2}(\w+): \{/gm)].map((r) => `${m[1]}.${r[1]}`));
    expect(declared.length).toBeGreaterThan(20);
    // healthApi and monitoringApi are served by every node: /healthz and /readyz by createHttpApp, /openapi.json
    // by serveOpenApi, /metrics by serveMetrics.
    expect(declared).toContain('monitoringApi.metrics');
    expect(new Set(served)).toEqual(
      new Set(declared.filter((d) => !d.startsWith('healthApi.') && !d.startsWith('monitoringApi.'))),
    );
    // The code delivery is served by every party the core issues codes to: each institution and
    // the Myna Portal (which acquires its codes as an institution does); so is the answer delivery,
    // since the portal is a requester too (わたしの情報); and the core's cross-check of a party's
    // records, since the portal keeps a record log as an institution does. Nothing else twice.
    const shared = ['networkApi.deliverCode', 'networkApi.deliverAnswer', 'networkApi.checkRecords'];
    expect(served.filter((s) => shared.includes(s)).length).toBe(6);
    const rest = served.filter((s) => !shared.includes(s));
    expect(rest.length).toBe(new Set(rest).size);
  });
});
