/**
 * `GET /metrics` (monitoringApi.metrics), on the demo network: every node serves it, to an
 * `operator:monitoring:…` certificate only; it counts each answered request by route pattern, method
 * and status, and each error by code, and never holds what a request carried (an addressee number, a
 * processing number, an Individual Number put into a URL by mistake).
 */
import { readFileSync } from 'node:fs';
import { Agent, request } from 'undici';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoOperator } from '../src/network/pki-setup.ts';
import { createClient } from '../src/protocol/api.ts';
import { credentialTransport } from '../src/protocol/client-credentials.ts';
import { monitoringApi } from '../src/protocol/routes.ts';
import { systemClock } from '../src/shared/clock.ts';
import { RenkeiError } from '../src/shared/errors.ts';
import { partyPaths, pkiPaths } from '../src/trust/pki/files.ts';
import { x509 } from '../src/trust/pki/x509.ts';
import { attemptWith, credentialOf } from './support/attacker.ts';
import { sampleOf } from './support/metrics.ts';
import { startCore } from '../src/nodes/core/main.ts';
import { clause74Inquiry, startDemoNetwork, type DemoNetwork } from './support/demo-network.ts';

const REQUESTER = '152048'; // 三条市
const PROVIDER = '131041'; // 新宿区
const MONITORING = demoOperator('monitoring');

let demo: DemoNetwork;
let pkiDir: string;
let ca: string;

beforeAll(async () => {
  // The head watch every second, rather than every ten minutes, for "what the head watch counts".
  demo = await startDemoNetwork('metrics', {
    startCore: (options) => startCore({ ...options, headWatchMs: 1_000 }),
  });
  pkiDir = demo.network.pkiDir ?? '';
  ca = readFileSync(pkiPaths(pkiDir).caBundle, 'utf8');
});

afterAll(async () => {
  await demo.dispose();
});

const nodes = () => [
  { name: 'core', url: demo.network.core.url },
  { name: 'jlis', url: demo.network.jlis.url },
  ...[...demo.network.institutions].map(([id, node]) => ({ name: `institution:${id}`, url: node.url })),
];

/** The metrics text of a node, read as Prometheus reads it (the monitoring certificate, raw HTTPS). */
async function scrape(url: string): Promise<string> {
  const answer = await attemptWith(ca, `${url}/metrics`, { as: credentialOf(pkiDir, MONITORING) });
  expect(answer.status).toBe(200);
  return answer.text;
}

describe('who may read a node’s metrics', () => {
  it('every node refuses a caller without a certificate, and any certificate but monitoring’s', async () => {
    for (const { name, url } of nodes()) {
      expect((await attemptWith(ca, `${url}/metrics`)).code, name).toBe('ERR_CLIENT_CERT_REQUIRED');
      for (const party of [`${REQUESTER}:business`, PROVIDER, 'core', demoOperator('audit')]) {
        const refused = await attemptWith(ca, `${url}/metrics`, { as: credentialOf(pkiDir, party) });
        expect(refused.code, `${name} as ${party}`).toBe('ERR_CALLER_NOT_ALLOWED');
        expect(refused.text, `${name} as ${party}`).not.toContain('renkei_http_request_duration_seconds');
      }
      const text = await scrape(url);
      expect(text, name).toContain('# TYPE renkei_http_request_duration_seconds histogram');
      expect(text, name).toContain('# TYPE process_cpu_seconds_total counter');
    }
  });

  it('answers in Prometheus’s media type, and the typed client gets the text as it came', async () => {
    const agent = new Agent({ connect: { ca, ...credentialOf(pkiDir, MONITORING) } });
    try {
      const answer = await request(`${demo.network.core.url}/metrics`, { dispatcher: agent });
      await answer.body.text();
      expect(answer.statusCode).toBe(200);
      expect(answer.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    } finally {
      await agent.close();
    }
    const transport = await credentialTransport({
      pkiDir,
      parties: [MONITORING],
      clock: systemClock,
      crl: { file: pkiPaths(pkiDir).crlDer },
    });
    try {
      const monitoring = createClient(monitoringApi, {
        transport,
        baseUrl: demo.network.core.url,
        peer: 'core',
        party: 'core',
      });
      const text = await monitoring.metrics();
      expect(typeof text).toBe('string');
      expect(text).toMatch(/^# HELP /m);
    } finally {
      await transport.close();
    }
  });
});

describe('a node’s readiness (GET /readyz)', () => {
  it('every node answers ready to a caller without a certificate, as a load balancer asks it', async () => {
    for (const { name, url } of nodes()) {
      const answer = await attemptWith(ca, `${url}/readyz`);
      expect(answer.status, name).toBe(200);
      expect(JSON.parse(answer.text), name).toEqual({ status: 'ready', node: name });
    }
  });
});

describe('what the metrics count', () => {
  it('counts an inquiry and a refused one by route, status and code, and holds nothing of either', async () => {
    const requester = demo.network.institutions.get(REQUESTER)?.url ?? '';
    const inquiries =
      'renkei_http_request_duration_seconds_count{route="/business/v1/inquiries",method="POST"';
    const unknownCode = 'renkei_errors_total{code="ERR_UNKNOWN_ADDRESSEE_NUMBER"}';
    const before = await scrape(requester);
    const answered = sampleOf(before, `${inquiries},status="200"}`) ?? 0;
    const refused = sampleOf(before, `${inquiries},status="404"}`) ?? 0;
    const unknown = sampleOf(before, unknownCode) ?? 0;

    const clerk = demo.network.institution(REQUESTER);
    const addresseeNumber = demo.world.addresseeNumber('yamada-taro', REQUESTER);
    const reply = await clerk.inquire(clause74Inquiry(addresseeNumber, { waitMs: 20_000 }));
    expect(reply).toMatchObject({ status: 'answered', outcome: 'provided' });
    const unknownNumber = 'NO-SUCH-ADDRESSEE-7731';
    const error = await clerk.inquire(clause74Inquiry(unknownNumber)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RenkeiError);
    expect((error as RenkeiError).code).toBe('ERR_UNKNOWN_ADDRESSEE_NUMBER');
    // A URL no route has, carrying what looks like an Individual Number.
    const individualNumber = demo.world.residents.get('yamada-taro')?.individualNumber ?? '';
    expect(individualNumber).toMatch(/^\d{12}$/);
    const stray = await attemptWith(
      ca,
      `${requester}/business/v1/persons/${individualNumber}?n=${individualNumber}`,
      {
        as: credentialOf(pkiDir, `${REQUESTER}:business`),
      },
    );
    expect(stray.code).toBe('ERR_ROUTE_NOT_FOUND');

    const after = await scrape(requester);
    expect(sampleOf(after, `${inquiries},status="200"}`)).toBe(answered + 1);
    expect(sampleOf(after, `${inquiries},status="404"}`)).toBe(refused + 1);
    expect(sampleOf(after, unknownCode)).toBe(unknown + 1);
    expect(
      sampleOf(
        after,
        'renkei_http_request_duration_seconds_count{route="(no route)",method="GET",status="404"}',
      ),
    ).toBeGreaterThanOrEqual(1);
    for (const secret of [addresseeNumber, unknownNumber, individualNumber, reply.processingNumber]) {
      expect(after).not.toContain(secret);
    }
    // The provider answered the core's request for it, and counted it as the core's route.
    const provider = await scrape(demo.network.institutions.get(PROVIDER)?.url ?? '');
    expect(provider).toMatch(
      /renkei_http_request_duration_seconds_count\{route="\/network\/v1\/provision-(requests|batches)",method="POST",status="200"\} [1-9]/,
    );
  });
});

describe('a node’s other listeners', () => {
  it('the core’s publication listener (CRL) is counted at the core’s /metrics, under listener="publication"', async () => {
    const publication = demo.network.core.publicationUrl ?? '';
    expect(publication).toMatch(/^http:/);
    const crl =
      'renkei_http_request_duration_seconds_count{route="/pki/v1/crl",method="GET",status="200",listener="publication"}';
    const before = sampleOf(await scrape(demo.network.core.url), crl) ?? 0;
    const answer = await fetch(`${publication}/pki/v1/crl`);
    await answer.arrayBuffer();
    expect(answer.status).toBe(200);
    const after = await scrape(demo.network.core.url);
    expect(sampleOf(after, crl)).toBe(before + 1);
    expect(after.match(/^# TYPE renkei_http_request_duration_seconds /gm)).toHaveLength(1);
    expect(after).toMatch(/^process_start_time_seconds \d+/m);
  });
});

describe('the state the nodes report', () => {
  it('the requester’s inquiries not yet numbered, and the core’s calls to other parties, at rest', async () => {
    const clerk = demo.network.institution(REQUESTER);
    const addresseeNumber = demo.world.addresseeNumber('ito-sakura', REQUESTER);
    expect(await clerk.inquire(clause74Inquiry(addresseeNumber, { waitMs: 20_000 }))).toMatchObject({
      status: 'answered',
    });
    const requester = await scrape(demo.network.institutions.get(REQUESTER)?.url ?? '');
    for (const state of ['waiting', 'sending', 'in_doubt']) {
      expect(sampleOf(requester, `renkei_requester_inquiries{state="${state}"}`), state).toBe(0);
    }
    const core = await scrape(demo.network.core.url);
    expect(sampleOf(core, 'renkei_core_outbound_calls{peer="(all)",state="waiting"}')).toBe(0);
    expect(core).toContain('# TYPE renkei_core_outbound_calls gauge');
  });
});

describe('what stops a node without warning unless watched', () => {
  it('every node reports when its own certificates expire and until when its CRL is current, as its files say', async () => {
    for (const { name, url } of nodes()) {
      const text = await scrape(url);
      const party = name.replace(/^institution:/, '');
      const paths = partyPaths(pkiDir, party);
      for (const [use, file] of [
        ['identity', paths.identityCert],
        ['encryption', paths.encryptionCert],
      ] as const) {
        const notAfter = new x509.X509Certificate(readFileSync(file, 'utf8')).notAfter.getTime() / 1000;
        expect(
          sampleOf(text, `renkei_certificate_expiry_timestamp_seconds{certificate="${use}"}`),
          `${name} ${use}`,
        ).toBe(notAfter);
      }
      // The network's CRL is current for a day from its signing: the one each node holds is.
      const until = sampleOf(text, 'renkei_crl_current_until_timestamp_seconds');
      const crl = new x509.X509Crl(readFileSync(pkiPaths(pkiDir).crlDer));
      expect(until, name).toBe((crl.nextUpdate?.getTime() ?? 0) / 1000);
      expect((until ?? 0) * 1000, name).toBeGreaterThan(Date.now());
    }
  });
});

describe('what the head watch counts', () => {
  it('the core asks every institution of the demo network for its head, over the network as it is, and none is unreachable or found wrong', async () => {
    const registered = demo.network.institutions.size;
    const read = async () => {
      const text = await scrape(demo.network.core.url);
      const of = (result: string) => sampleOf(text, `renkei_core_head_watch_total{result="${result}"}`) ?? 0;
      return {
        judged: of('first') + of('same') + of('consistent') + of('no-head'),
        finding: of('finding'),
        unreachable: of('unreachable'),
      };
    };
    let counts = await read();
    // Two watches of every institution (its signed head, or none yet: institutions sign theirs every
    // minute or hundred events), each asked with no processing number, which they now take.
    const watched = (c: typeof counts) => c.judged + c.finding + c.unreachable;
    for (let i = 0; i < 200 && watched(counts) < 2 * registered; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      counts = await read();
    }
    expect(watched(counts)).toBeGreaterThanOrEqual(2 * registered);
    expect(counts).toMatchObject({ finding: 0, unreachable: 0 });
  });
});

describe('how the requester sends', () => {
  it('counts its sends to the core and the inquiries they carried, alone or coalesced', async () => {
    const url = demo.network.institutions.get(REQUESTER)?.url ?? '';
    const read = async () => {
      const text = await scrape(url);
      const of = (name: string, kind: string) => sampleOf(text, `${name}{kind="${kind}"}`) ?? 0;
      return {
        sends: of('renkei_requester_sends_total', 'single') + of('renkei_requester_sends_total', 'coalesced'),
        inquiries:
          of('renkei_requester_sent_inquiries_total', 'single') +
          of('renkei_requester_sent_inquiries_total', 'coalesced'),
        singleSends: of('renkei_requester_sends_total', 'single'),
        singleInquiries: of('renkei_requester_sent_inquiries_total', 'single'),
      };
    };
    const before = await read();
    const clerk = demo.network.institution(REQUESTER);
    const addresseeNumber = demo.world.addresseeNumber('yamada-taro', REQUESTER);
    await Promise.all(Array.from({ length: 8 }, () => clerk.inquire(clause74Inquiry(addresseeNumber))));
    const after = await read();
    expect(after.inquiries - before.inquiries).toBe(8);
    expect(after.sends - before.sends).toBeGreaterThanOrEqual(1);
    expect(after.sends - before.sends).toBeLessThanOrEqual(8);
    // A single send carries one inquiry.
    expect(after.singleInquiries).toBe(after.singleSends);
  });
});

describe('the alerting rules shipped beside the metrics', () => {
  it('name only series the nodes report (docs/monitoring/alerts.yaml)', async () => {
    const rules = (
      parse(readFileSync('docs/monitoring/alerts.yaml', 'utf8')) as {
        groups: { rules: { alert: string; expr: string }[] }[];
      }
    ).groups.flatMap((g) => g.rules);
    expect(rules.length).toBeGreaterThan(5);
    const reported = [
      await scrape(demo.network.core.url),
      await scrape(demo.network.institutions.get(REQUESTER)?.url ?? ''),
    ].join('\n');
    const named = new Set(rules.flatMap((r) => r.expr.match(/\b(?:renkei|nodejs|process)_\w+/g) ?? []));
    expect(named.size).toBeGreaterThan(4);
    for (const series of named) {
      // Declared (a counter with no sample yet has only its TYPE line), a histogram by its base name.
      const metric = series.replace(/_(bucket|count|sum)$/, '');
      expect(reported, series).toMatch(new RegExp(`^# TYPE ${metric} `, 'm'));
    }
  });
});
