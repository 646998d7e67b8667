/**
 * The exchanges about a resident, as the Myna Portal will read them from the core, on the demo network
 * over the trust layer (mutual TLS, signed messages): a clerk's inquiry under non-disclosure (不開示)
 * is absent from the portal's view until the requester lifts it (`renkei records lift-non-disclosure`),
 * and present after, with proofs that check in the browser's verifier against the core's signed head
 * and the key the core publishes for them. Nobody but the requester can lift it. The records of all three parties
 * still verify afterwards.
 *
 * The portal is the portal node (a certificate of role `portal`, a registry entry of kind `portal`), and
 * its code for the resident is the one it acquired through J-LIS when the resident logged in with the
 * card; the test reads it from the portal's database and asks the core as the portal would.
 * (test/portal-exchanges.test.ts reads the same through the portal's page A.)
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renkei } from '../src/cli/test-support.ts';
import { verifyNetworkRecords } from '../src/network/records.ts';
import type { PortalDatabase } from '../src/nodes/portal/kysely-store.ts';
import { createClient, type Client } from '../src/protocol/api.ts';
import { credentialTransport } from '../src/protocol/client-credentials.ts';
import type { PersonRecordPage } from '../src/protocol/person-records.ts';
import { coreApi } from '../src/protocol/routes.ts';
import type { Transport } from '../src/protocol/transport.ts';
import { systemClock } from '../src/shared/clock.ts';
import { openDatabase } from '../src/shared/db.ts';
import { RenkeiError } from '../src/shared/errors.ts';
import { verifyRecordEvidence, type PublicJwk } from '../src/trust/merkle/index.ts';
import { partyPaths, pkiPaths } from '../src/trust/pki/files.ts';
import { logInAs } from './support/portal-web.ts';
import { providedInquiry, startPortalNetwork, type PortalNetwork } from './support/portal-network.ts';

const REQUESTER = '152048'; // 三条市
const PROVIDER = '131041'; // 新宿区
const RESIDENT = 'yamada-taro';

let demo: PortalNetwork;
let pkiDir: string;
const transports: Transport[] = [];
/** The core's API as a party presenting `partyId`'s certificate and signing as it. */
async function coreAs(partyId: string): Promise<Client<typeof coreApi>> {
  const transport = await credentialTransport({
    pkiDir,
    parties: [partyId],
    clock: systemClock,
    crl: { file: pkiPaths(pkiDir).crlDer },
  });
  transports.push(transport);
  return createClient(coreApi, {
    transport,
    baseUrl: demo.network.core.url,
    peer: 'the core',
    party: 'core',
  });
}

let portal: Client<typeof coreApi>;
let portalCode: string;
let coreKey: PublicJwk;
let visible: string;
let hidden: string;

/** The portal's code for the resident, acquired through J-LIS at their first login with the card. */
async function portalCodeOf(resident: string): Promise<string> {
  await logInAs(demo, resident);
  const db = await openDatabase<PortalDatabase>(demo.portalDatabase);
  try {
    const persons = await db.selectFrom('persons').select('person_code').execute();
    expect(persons).toHaveLength(1);
    return persons[0]?.person_code ?? '';
  } finally {
    await db.destroy();
  }
}

async function everyPage(): Promise<PersonRecordPage[]> {
  const pages: PersonRecordPage[] = [];
  let cursor: string | undefined;
  do {
    const page = await portal.listPersonRecords({
      body: {
        portalId: 'portal',
        personCode: portalCode,
        limit: 1,
        ...(cursor === undefined ? {} : { cursor }),
      },
    });
    pages.push(page);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return pages;
}

beforeAll(async () => {
  demo = await startPortalNetwork('non-disclosure', { world: true });
  pkiDir = demo.network.pkiDir ?? '';
  portal = await coreAs('portal');
  // The key the core publishes for its heads, as a browser would fetch it.
  const published = (await (
    await fetch(`${demo.network.core.publicationUrl ?? ''}/pki/v1/record-log-keys`)
  ).json()) as { keys: (PublicJwk & { kid: string; x5c: string[] })[] };
  const [key] = published.keys;
  if (!key) throw new Error('no key published');
  coreKey = key;
  // It is the core's certificate's key, under the serial its heads name.
  const certificate = new X509Certificate(readFileSync(partyPaths(pkiDir, 'core').identityCert, 'utf8'));
  expect(key.x5c[0]).toBe(certificate.raw.toString('base64'));
  expect(key.kid.toLowerCase().replace(/^0+/, '')).toBe(
    certificate.serialNumber.toLowerCase().replace(/^0+/, ''),
  );
  visible = await providedInquiry(demo, RESIDENT, false);
  hidden = await providedInquiry(demo, RESIDENT, true);
  portalCode = await portalCodeOf(RESIDENT);
}, 180_000);

afterAll(async () => {
  for (const transport of transports) await transport.close();
  await demo.dispose();
});

describe('non-disclosure, from the clerk to the Myna Portal', () => {
  it('shows the portal the disclosed record, proven against the head the core signed, and nothing of the other', async () => {
    const pages = await everyPage();
    const shown = pages.flatMap((p) => p.records.map((r) => r.processingNumber));
    expect(shown).toContain(visible);
    expect(JSON.stringify(pages)).not.toContain(hidden);
    for (const page of pages) {
      expect(page.treeHead?.kid).toBe(coreKey['kid']);
      for (const record of page.records) {
        const verdict = await verifyRecordEvidence(
          { treeHead: page.treeHead?.jws ?? '', leaves: record.evidence },
          coreKey,
          record.processingNumber,
        );
        expect(verdict).toMatchObject({ ok: true });
      }
    }
  });

  it('lets nobody but the requester lift it: not the provider at the core, not the provider at its own node', async () => {
    const asProvider = await coreAs(PROVIDER);
    const refused = await asProvider
      .liftNonDisclosure({ body: { requesterId: PROVIDER, processingNumber: hidden } })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RenkeiError);
    expect((refused as RenkeiError).code).toBe('ERR_UNKNOWN_PROCESSING_NUMBER');
    const atProvider = await demo.network
      .institution(PROVIDER)
      .liftNonDisclosure({ body: { processingNumber: hidden } })
      .catch((error: unknown) => error);
    expect((atProvider as RenkeiError).code).toBe('ERR_UNKNOWN_PROCESSING_NUMBER');
    expect(JSON.stringify(await everyPage())).not.toContain(hidden);
  });

  it('shows the record once the requester lifts it with `renkei records lift-non-disclosure`, and every party still verifies', async () => {
    const url = demo.network.institutions.get(REQUESTER)?.url ?? '';
    const run = await renkei(
      '--data-dir',
      demo.dir,
      'records',
      'lift-non-disclosure',
      hidden,
      '--institution-url',
      url,
    );
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('lifted');
    expect(run.status).toBe(0);

    const pages = await everyPage();
    const record = pages.flatMap((p) => p.records).find((r) => r.processingNumber === hidden);
    expect(record?.evidence.map((e) => (JSON.parse(e.leaf) as { event: string }).event)).toContain(
      'disclosed',
    );
    const page = pages.find((p) => p.records.some((r) => r.processingNumber === hidden));
    expect(
      await verifyRecordEvidence(
        { treeHead: page?.treeHead?.jws ?? '', leaves: record?.evidence ?? [] },
        coreKey,
        hidden,
      ),
    ).toMatchObject({ ok: true });

    const ownRecord = (
      await demo.network.institution(REQUESTER).listProvisionRecords({ query: { role: 'requester' } })
    ).records.find((r) => r.processingNumber === hidden);
    expect(ownRecord?.nonDisclosure).toBe(false);

    const again = await renkei(
      '--data-dir',
      demo.dir,
      'records',
      'lift-non-disclosure',
      hidden,
      '--institution-url',
      url,
    );
    expect(again.stdout).toContain('nothing changed');

    await demo.network.close();
    const report = await verifyNetworkRecords({ dataDir: demo.dir, retentionYears: 7 });
    expect([...report.parties.flatMap((p) => p.findings), ...report.exchanges.findings]).toEqual([]);
    expect(report.ok).toBe(true);
    // Two CLI processes, each loading the bundle: slow on a busy machine.
  }, 90_000);
});
