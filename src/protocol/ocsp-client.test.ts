/**
 * A relying party's OCSP check against J-LIS's real publication listener (real SQLite, real HTTP),
 * and against a relay in between that replays an earlier answer or forges one: only an answer signed
 * by the issuing CA's own delegated responder, for this certificate and this request's nonce, is
 * believed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../shared/clock.ts';
import { nodeDatabase, openDatabase } from '../shared/db.ts';
import { listen } from '../shared/http.ts';
import { silentLogger } from '../shared/logger.ts';
import { answerOcsp } from '../trust/pki/ocsp.ts';
import { pkijs, x509 } from '../trust/pki/x509.ts';
import { createJpkiPublicationApp } from '../nodes/jlis/jpki-publication.ts';
import { createKyselyJlisStore, type JlisDatabase } from '../nodes/jlis/kysely-store.ts';
import { migrateJlisDatabase } from '../nodes/jlis/migrations.ts';
import { JpkiCertificateService } from '../nodes/jlis/service/jpki-certificates.ts';
import { ResidentService } from '../nodes/jlis/service/residents.ts';
import { openJpkiAuthority, type JpkiAuthority } from '../nodes/jlis/jpki/authority.ts';
import { createKyselyJpkiStore } from '../nodes/jlis/jpki/kysely-store.ts';
import { checkOcsp } from './ocsp-client.ts';
import type { JpkiIssued } from '../nodes/jlis/jpki/port.ts';
import { makeTestCard, yearsAfter } from '../nodes/jlis/jpki/test-support.ts';

const dir = mkdtempSync(join(tmpdir(), 'renkei-ocsp-client-'));
let db: Kysely<JlisDatabase>;
let authority: JpkiAuthority;
let foreign: JpkiAuthority;
let certificates: JpkiCertificateService;
let publication: FastifyInstance;
let ocspUrl: string;
let relay: Server;
let relayUrl: string;
/** What the relay does with the next request. */
let mode: 'replay' | 'foreign' = 'replay';
let lastAnswer: Buffer | undefined;
let issued: JpkiIssued;

beforeAll(async () => {
  db = await openDatabase<JlisDatabase>(nodeDatabase(undefined, join(dir, 'jlis.sqlite'), 'jlis'));
  await migrateJlisDatabase(db);
  authority = await openJpkiAuthority({ dir: join(dir, 'jpki'), clock: systemClock });
  foreign = await openJpkiAuthority({ dir: join(dir, 'foreign'), clock: systemClock });
  const store = createKyselyJlisStore(db);
  certificates = new JpkiCertificateService({
    store: createKyselyJpkiStore(db),
    residents: store,
    authority,
    clock: systemClock,
    logger: silentLogger(),
  });
  const residents = new ResidentService({
    store,
    clock: systemClock,
    logger: silentLogger(),
    numberingKey: new Uint8Array(32).fill(5),
    jpki: certificates,
  });
  const { residentRecordCode } = await residents.registerResident({
    name: '霞 太郎',
    address: '東京都千代田区霞が関2丁目1番1号',
    dateOfBirth: '1980-05-15',
    sex: 'male',
  });
  const card = await makeTestCard();
  issued = await certificates.issuePair({
    residentRecordCode,
    cardId: 'card-ocsp',
    fourInformation: {
      name: '霞 太郎',
      address: '東京都千代田区霞が関2丁目1番1号',
      dateOfBirth: '1980-05-15',
      sex: 'male',
    },
    signingPublicKeySpki: card.signingPublicKeySpki,
    authenticationPublicKeySpki: card.authenticationPublicKeySpki,
    notAfter: yearsAfter(new Date(), 5),
  });
  publication = createJpkiPublicationApp(certificates, authority, silentLogger());
  ocspUrl = `${await listen(publication, 0)}/jpki/v1/ocsp`;
  // A relay between the relying party and J-LIS: it replays the answer J-LIS gave to an earlier
  // request, or answers itself with a responder another CA certified.
  relay = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = new Uint8Array(Buffer.concat(chunks));
      void (async () => {
        let answer: Uint8Array;
        if (mode === 'replay') {
          answer = lastAnswer ?? new Uint8Array();
        } else {
          const signing = authority.ca.signing;
          answer = await answerOcsp(body, {
            clock: systemClock,
            authorities: [
              {
                issuing: signing.certificate,
                responder: () => Promise.resolve(foreign.ca.signing.responder),
                statusOf: () => ({ status: 'good' }),
              },
            ],
          });
        }
        response.writeHead(200, { 'content-type': 'application/ocsp-response' });
        response.end(Buffer.from(answer));
      })();
    });
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  relayUrl = `http://127.0.0.1:${(relay.address() as AddressInfo).port}/jpki/v1/ocsp`;
});

afterAll(async () => {
  await publication.close();
  await new Promise((resolve) => relay.close(resolve));
  await db.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const signingCertificate = () => new x509.X509Certificate(issued.signing.certificateDer);

describe('checkOcsp', () => {
  it('believes J-LIS’s answer: good, then revoked with its reason and time', async () => {
    const good = await checkOcsp({
      url: ocspUrl,
      certificate: signingCertificate(),
      issuer: authority.ca.signing.certificate,
    });
    expect(good.status).toBe('good');
    expect(good.responder).toBe(authority.ca.signing.responder.certificate.subject);

    // Kept for the relay to replay below: J-LIS's "good" answer to another request (no nonce).
    const earlier = await fetch(ocspUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/ocsp-request' },
      body: Buffer.from(await ocspRequestBytes()),
    });
    lastAnswer = Buffer.from(await earlier.arrayBuffer());

    await certificates.revokeForCard('card-ocsp', 'loss');
    const revoked = await checkOcsp({
      url: ocspUrl,
      certificate: signingCertificate(),
      issuer: authority.ca.signing.certificate,
    });
    expect(revoked).toMatchObject({ status: 'revoked', reason: 'keyCompromise' });
    expect(revoked.revokedAt).toBeInstanceOf(Date);
  });

  it('refuses an answer replayed from an earlier request (its nonce is not ours)', async () => {
    // The earlier "good" answer, replayed by the relay after the revocation.
    mode = 'replay';
    await expect(
      checkOcsp({
        url: relayUrl,
        certificate: signingCertificate(),
        issuer: authority.ca.signing.certificate,
      }),
    ).rejects.toMatchObject({
      code: 'ERR_SIGNATURE_INVALID',
      message: expect.stringContaining('nonce') as unknown,
    });
  });

  it('refuses an answer signed by a responder that another CA certified, though it names the same CA', async () => {
    mode = 'foreign';
    await expect(
      checkOcsp({
        url: relayUrl,
        certificate: signingCertificate(),
        issuer: authority.ca.signing.certificate,
      }),
    ).rejects.toMatchObject({
      code: 'ERR_SIGNATURE_INVALID',
      message: expect.stringContaining('responder') as unknown,
    });
  });

  it('says so when nothing answers', async () => {
    await expect(
      checkOcsp({
        url: 'http://127.0.0.1:9/jpki/v1/ocsp',
        certificate: signingCertificate(),
        issuer: authority.ca.signing.certificate,
      }),
    ).rejects.toMatchObject({ code: 'ERR_UPSTREAM_UNAVAILABLE' });
  });
});

/** A request for the signing certificate without a nonce, as a client other than ours might send. */
async function ocspRequestBytes(): Promise<Uint8Array> {
  const request = new pkijs.OCSPRequest();
  await request.createForCertificate(pkijs.Certificate.fromBER(issued.signing.certificateDer), {
    hashAlgorithm: 'SHA-1',
    issuerCertificate: pkijs.Certificate.fromBER(authority.ca.signing.certificate.rawData),
  });
  return new Uint8Array(request.toSchema(true).toBER(false));
}
