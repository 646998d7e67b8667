/**
 * Summarise V8 CPU profiles (`.cpuprofile`, as `node --cpu-prof` writes them): for each profile, the
 * process it was (guessed from the source files it ran: core, requester, provider, J-LIS…), its busy
 * time, and its self time grouped by package or file and by cause (TLS, crypto, SQLite, Kysely, zod,
 * HTTP…), with the top functions. For the bench's profiles:
 *
 *   RENKEI_NODE_FLAGS="--cpu-prof --cpu-prof-dir=prof" node bin/renkei.js bench --count 2000
 *   node --import tsx src/cli/profile-summary.ts prof [--top 25]
 *
 * A script that prints figures, not part of the `renkei` command: it reads files only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Where a frame's code lives: a package, one of our files, node's own modules, or V8's pseudo-frames. */
export function groupOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (url === '') {
    if (functionName.startsWith('(')) return functionName;
    return '(native)';
  }
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  const ours = /\/(src\/.*)$/.exec(url);
  if (ours) return ours[1]!;
  if (url.startsWith('node:')) return url;
  return url;
}

/** The cause a group stands for, coarser than its group: what the README's table names. */
export function causeOf(group: string, frame: CallFrame): string {
  if (group === '(idle)') return 'idle';
  if (group === '(garbage collector)') return 'garbage collection';
  if (group === '(program)') return 'V8 and native (program)';
  // better-sqlite3's statements run inside the driver's executeQuery: its self time is SQLite's.
  if (group === 'kysely' && frame.functionName === 'executeQuery') return 'SQLite statements (via Kysely)';
  if (
    group.startsWith('node:internal/modules') ||
    group === 'tsx' ||
    group.startsWith('node:internal/deps/cjs')
  )
    return 'start-up: loading modules';
  if (group === 'node:internal/crypto/util') return 'crypto: WebCrypto jobs (ES256, ECDH, AES via jose)';
  if (group === 'node:internal/crypto/ec' || group === 'node:internal/crypto/keys')
    return 'crypto: importing keys';
  if (group === 'node:internal/crypto/keygen') return 'crypto: generating keys (ECDH-ES)';
  if (group === 'better-sqlite3') return 'SQLite (better-sqlite3)';
  if (group === 'kysely') return 'Kysely (building, compiling, result handling)';
  if (group === 'zod') return 'zod';
  if (group === 'pino' || group.startsWith('pino-') || group === 'sonic-boom' || group === 'thread-stream')
    return 'pino (logging)';
  if (group === 'undici' || group.startsWith('node:internal/deps/undici')) return 'undici (HTTP client)';
  if (
    group === 'fastify' ||
    group.startsWith('@fastify/') ||
    group === 'find-my-way' ||
    group === 'avvio' ||
    group === 'light-my-request' ||
    group === 'fast-json-stringify' ||
    group === 'secure-json-parse'
  )
    return 'fastify (HTTP server)';
  if (group === 'jose') return 'jose (JWS, JWE)';
  if (group === '@peculiar/x509' || group === 'pkijs' || group === 'asn1js' || group.startsWith('@peculiar/'))
    return 'X.509 parsing (peculiar, pkijs, asn1js)';
  if (group === 'uuid') return 'uuid';
  if (group.startsWith('node:_tls') || group === 'node:tls' || group.startsWith('node:internal/tls'))
    return 'TLS (node:tls)';
  if (group.startsWith('node:internal/crypto') || group === 'node:crypto') return 'crypto (node:crypto)';
  if (group.startsWith('node:_http') || group === 'node:http' || group.startsWith('node:internal/http'))
    return 'node:http';
  if (group.startsWith('node:net') || group.startsWith('node:internal/stream_base') || group === 'node:net')
    return 'sockets (node:net)';
  if (group.startsWith('node:internal/streams') || group === 'node:stream') return 'streams';
  if (group.startsWith('node:')) return 'node (other)';
  if (group.startsWith('src/trust/')) return 'ours: trust (envelope, merkle, pki)';
  if (group.startsWith('src/protocol/')) return 'ours: protocol (server, transport, sealing)';
  if (group.startsWith('src/shared/')) return 'ours: shared (db, group commit, record log, archive)';
  if (group.startsWith('src/')) return 'ours: node services and stores';
  if (group === '(native)') return `native: ${frame.functionName || '?'}`;
  return group;
}

/** Which node a profile is, from the files of ours that ran in it. */
function roleOf(selfByGroup: Map<string, number>): string {
  const ran = (prefix: string) =>
    [...selfByGroup].filter(([g]) => g.startsWith(prefix)).reduce((s, [, v]) => s + v, 0);
  const candidates: [string, number][] = [
    ['core', ran('src/nodes/core/')],
    ['J-LIS', ran('src/nodes/jlis/')],
    ['requester', ran('src/nodes/institution/intermediate/service/inquiries.ts')],
    ['provider', ran('src/nodes/institution/intermediate/service/provisions.ts')],
  ];
  candidates.sort((a, b) => b[1] - a[1]);
  return candidates[0]![1] > 0 ? candidates[0]![0] : '?';
}

export interface ProfileSummary {
  file: string;
  role: string;
  wallMs: number;
  busyMs: number;
  byGroup: [string, number][];
  byCause: [string, number][];
  topFunctions: [string, number][];
  /** Self time outside our code, charged to the nearest function of ours that called it. */
  byOurCaller: [string, number][];
}

export function summarise(file: string, profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const ourCaller = (id: number): string => {
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const f = byId.get(at)?.callFrame;
      if (f && /\/src\//.test(f.url))
        return `${f.functionName || '(anonymous)'} ${groupOf(f)}:${f.lineNumber + 1}`;
    }
    return '(none of ours on the stack)';
  };
  const byOurCaller = new Map<string, number>();
  const selfById = new Map<number, number>();
  profile.samples.forEach((id, i) => {
    selfById.set(id, (selfById.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  const byGroup = new Map<string, number>();
  const byCause = new Map<string, number>();
  const byFunction = new Map<string, number>();
  let busyMs = 0;
  for (const [id, ms] of selfById) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    const group = groupOf(frame);
    const cause = causeOf(group, frame);
    byGroup.set(group, (byGroup.get(group) ?? 0) + ms);
    byCause.set(cause, (byCause.get(cause) ?? 0) + ms);
    if (group !== '(idle)') busyMs += ms;
    const name = `${frame.functionName || '(anonymous)'} ${group}:${frame.lineNumber + 1}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    if (group !== '(idle)' && !group.startsWith('src/')) {
      const caller = `${ourCaller(id)} → ${cause}`;
      byOurCaller.set(caller, (byOurCaller.get(caller) ?? 0) + ms);
    }
  }
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return {
    file,
    role: roleOf(byGroup),
    wallMs: (profile.endTime - profile.startTime) / 1000,
    busyMs,
    byGroup: sorted(byGroup).filter(([g]) => g !== '(idle)'),
    byCause: sorted(byCause).filter(([c]) => c !== 'idle'),
    topFunctions: sorted(byFunction).filter(([f]) => !f.startsWith('(idle)')),
    byOurCaller: sorted(byOurCaller),
  };
}

function main(argv: string[]): void {
  const dir = argv[0];
  if (dir === undefined) {
    console.error('usage: node --import tsx src/cli/profile-summary.ts <dir of .cpuprofile> [--top N]');
    process.exitCode = 2;
    return;
  }
  const topAt = argv.indexOf('--top');
  const top = topAt >= 0 ? Number(argv[topAt + 1] ?? 20) : 20;
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const summaries = files.map((f) =>
    summarise(f, JSON.parse(readFileSync(join(dir, f), 'utf8')) as CpuProfile),
  );
  summaries.sort((a, b) => b.busyMs - a.busyMs);
  const pct = (ms: number, of: number) => `${((100 * ms) / of).toFixed(1)}%`;
  for (const s of summaries) {
    console.log(
      `\n## ${s.role} (${s.file}): busy ${(s.busyMs / 1000).toFixed(1)} s of ${(s.wallMs / 1000).toFixed(1)} s`,
    );
    console.log('\nby cause:');
    for (const [c, ms] of s.byCause.slice(0, top))
      console.log(`  ${pct(ms, s.busyMs).padStart(6)}  ${(ms / 1000).toFixed(2).padStart(7)} s  ${c}`);
    console.log('\nby package or file:');
    for (const [g, ms] of s.byGroup.slice(0, top))
      console.log(`  ${pct(ms, s.busyMs).padStart(6)}  ${(ms / 1000).toFixed(2).padStart(7)} s  ${g}`);
    console.log('\nlibrary and runtime time, by the nearest function of ours on the stack:');
    for (const [f, ms] of s.byOurCaller.slice(0, top))
      console.log(`  ${pct(ms, s.busyMs).padStart(6)}  ${(ms / 1000).toFixed(2).padStart(7)} s  ${f}`);
    console.log('\ntop functions (self):');
    for (const [f, ms] of s.topFunctions.slice(0, top))
      console.log(`  ${pct(ms, s.busyMs).padStart(6)}  ${(ms / 1000).toFixed(2).padStart(7)} s  ${f}`);
  }
}

if (process.argv[1]?.endsWith('profile-summary.ts')) main(process.argv.slice(2));
