#!/usr/bin/env node
// The `renkei` command. A checkout needs no build step: the TypeScript under src/ is bundled by esbuild
// into node_modules/.cache/renkei/<fingerprint>/ the first time it runs after a change (about 0.5 s),
// and every later start loads it (split by command: a command loads its own part). Loading the sources one by one through tsx's loader cost
// each process about a second more CPU (every import a round trip to the loader's thread), and the
// network starts a process per node, the tests and the chaos driver dozens: that was the largest part
// of a node's start. RENKEI_NO_BUNDLE=1 runs the sources through tsx as before (for a debugger that
// wants the files as they are). The fingerprint is each source file's path, size and mtime, and the
// packages' lockfile, so an edited file or a new install is never run stale.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const src = join(root, 'src');
const entry = join(src, 'cli', 'main.ts');

/**
 * Packages loaded from node_modules as they are: native addons (better-sqlite3; pg, whose optional
 * pg-native is required lazily), those that start worker threads from files beside them (pino's
 * transports: pino-roll, thread-stream), those that read files of their own at run time (the design
 * tokens' CSS, chart.js's browser build, @fastify/static; oidc-provider and its views), and the tools.
 */
const UNBUNDLED = [
  'better-sqlite3',
  'pg',
  'pg-native',
  'pino',
  'pino-roll',
  'thread-stream',
  'oidc-provider',
  '@digital-go-jp/design-tokens',
  'chart.js',
  '@fastify/static',
  'esbuild',
  'tsx',
  'playwright-core',
];

const bundle = process.env.RENKEI_NO_BUNDLE === '1' ? undefined : await bundled().catch(cannotBundle);
if (bundle === undefined) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(entry).href);
} else {
  await import(pathToFileURL(bundle).href);
}

/** A read-only node_modules (an installed deployment, say) runs the sources through tsx, as before. */
function cannotBundle(error) {
  process.emitWarning(`renkei: running the sources unbundled (${error.code ?? error.message})`);
  return undefined;
}

/**
 * The path of the bundle of the current sources, built if there is none yet. The bundle is split at
 * every dynamic import (esbuild's `splitting`; each sub-command is one, src/cli/main.ts): a command
 * loads its own chunks and the packages they import, not the whole system's (`renkei number check`
 * took 0.75 s of CPU to start as one file, 0.24 s split).
 */
async function bundled() {
  const cache = join(root, 'node_modules', '.cache', 'renkei');
  const dir = join(cache, fingerprint());
  const out = join(dir, 'main.mjs');
  if (existsSync(out)) return out;
  mkdirSync(cache, { recursive: true });
  // Processes starting side by side may all build: each writes a directory of its own and renames it
  // into place, so none ever loads a half-written bundle (one that loses the race keeps the winner's).
  const temporary = `${dir}.${process.pid}.tmp`;
  const { build, stop } = await import('esbuild');
  await build({
    entryPoints: { main: entry },
    outdir: temporary,
    outExtension: { '.js': '.mjs' },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // The packages are bundled too, but for those that must stay files of their own (UNBUNDLED):
    // a process then reads a few dozen files instead of some two thousand, and `renkei bench --help`
    // starts in 1.0 s instead of 1.7 (1.2 s of CPU instead of 2.0 with the packages external).
    // Packages bundled from CommonJS call `require`, which an ES module lacks: the banner gives each
    // chunk one, resolving from node_modules/.cache/renkei/, so from the project's node_modules.
    external: UNBUNDLED,
    banner: {
      js: "import { createRequire as renkeiRequire } from 'node:module'; const require = renkeiRequire(import.meta.url);",
    },
    sourcemap: 'linked',
    logLevel: 'error',
    plugins: [sourceLocations()],
  });
  // esbuild's service process would otherwise stay beside this one for its whole life (`renkei start`
  // runs until Ctrl-C), some 24 MB for nothing: one bundle per process is all it makes here.
  await stop();
  try {
    renameSync(temporary, dir);
  } catch (error) {
    rmSync(temporary, { recursive: true, force: true });
    if (!existsSync(out)) throw error;
  }
  removeStale(cache, dir);
  return out;
}

/**
 * Modules find files beside them (the legal table, package.json, routes.ts for the OpenAPI
 * document) through import.meta.url and import.meta.dirname: in a bundle those would name the
 * bundle, so each module's own location is written in instead.
 */
function sourceLocations() {
  return {
    name: 'source-locations',
    setup(build) {
      build.onLoad({ filter: /\.ts$/ }, (args) => ({
        contents: readFileSync(args.path, 'utf8')
          .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href))
          .replaceAll('import.meta.dirname', JSON.stringify(dirname(args.path))),
        loader: 'ts',
      }));
    },
  };
}

/** Path, size and mtime of every source file the command can load (tests excluded); package.json and the lockfile as they read. */
function fingerprint() {
  const hash = createHash('sha256');
  const walk = (dir) => {
    const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const item of entries) {
      const path = join(dir, item.name);
      if (item.isDirectory()) walk(path);
      else if (item.name.endsWith('.ts') && !item.name.endsWith('.test.ts')) {
        const stat = statSync(path);
        hash.update(`${path}\0${stat.size}\0${stat.mtimeMs}\n`);
      }
    }
  };
  walk(src);
  // The bundle holds the packages too: an install that changes them makes a new one.
  for (const file of ['package.json', 'package-lock.json']) {
    const path = join(root, file);
    if (existsSync(path)) hash.update(`${path}\0${readFileSync(path, 'utf8')}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

/** Bundles of earlier sources, older than a day: kept that long for processes still starting. */
function removeStale(cache, current) {
  for (const name of readdirSync(cache)) {
    const path = join(cache, name);
    if (path !== current && Date.now() - statSync(path).mtimeMs > 86_400_000) {
      rmSync(path, { recursive: true, force: true });
    }
  }
}
