/**
 * The Myna Portal in the demo (`renkei start`): the demo residents' Individual Number Cards, issued
 * at first start through J-LIS's card routes as a municipality's clerk would (`<data dir>/cards/`,
 * one virtual card file each, PIN 1234), and the resident's card reader holding them, run in the
 * start process on `basePort + 81` (7181).
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createCardReader } from '../card/reader/card-reader.ts';
import { writeCardFile } from '../card/virtual-card.ts';
import { createClient } from '../protocol/api.ts';
import { credentialTransport } from '../protocol/client-credentials.ts';
import { jpkiApi } from '../protocol/routes.ts';
import { systemClock } from '../shared/clock.ts';
import { listen } from '../shared/http.ts';
import { pkiPaths } from '../trust/pki/files.ts';
import { demoOperator } from './pki-setup.ts';
import type { Logger } from '../shared/logger.ts';
import type { Network } from './launch.ts';
import type { SeededWorld } from './seed.ts';

/** The demo cards' PIN (利用者証明用, 4 digits) and signing password (署名用, 6–16). Demo only. */
export const DEMO_CARD_PIN = '1234';
const DEMO_SIGNING_PASSWORD = 'RENKEI2025';

/** Whose cards the demo issues: the seeds' 児童手当 family (山田 太郎, 山田 花子) and 佐藤 美咲. */
export const DEMO_CARD_HOLDERS = ['yamada-taro', 'yamada-hanako', 'sato-misaki'] as const;

export function cardsDirOf(dataDir: string): string {
  return join(dataDir, 'cards');
}

/**
 * Issue and deliver a card to each demo holder the world seeded (others are skipped), writing
 * `<cardsDir>/<resident key>.card`. Returns the files written.
 */
export async function issueDemoCards(
  network: Network,
  world: SeededWorld,
  cardsDir: string,
): Promise<string[]> {
  mkdirSync(cardsDir, { recursive: true, mode: 0o700 });
  const jlis = network.jlisClient();
  const written: string[] = [];
  for (const key of DEMO_CARD_HOLDERS) {
    const resident = world.residents.get(key);
    if (!resident) continue;
    const { cardId } = await jlis.applyForCard({
      body: { residentRecordCode: resident.residentRecordCode, clerkId: 'demo-clerk' },
    });
    const issued = await jlis.issueCard({
      body: { cardId, pin: DEMO_CARD_PIN, signingPassword: DEMO_SIGNING_PASSWORD, clerkId: 'demo-clerk' },
    });
    await jlis.deliverCard({ body: { cardId, clerkId: 'demo-clerk' } });
    const file = join(cardsDir, `${key}.card`);
    writeCardFile(file, Buffer.from(issued.archive, 'base64'));
    written.push(file);
  }
  return written;
}

export function hasDemoCards(cardsDir: string): boolean {
  return existsSync(cardsDir) && readdirSync(cardsDir).some((f) => f.endsWith('.card'));
}

/** The card reader on `readerUrl`'s port, answering the portal at `portalUrl`. */
export async function startDemoReader(options: {
  cardsDir: string;
  portalUrl: string;
  readerUrl: string;
  logger: Logger;
}): Promise<FastifyInstance> {
  mkdirSync(options.cardsDir, { recursive: true, mode: 0o700 });
  const reader = await createCardReader({
    cardsDir: options.cardsDir,
    portalOrigins: [new URL(options.portalUrl).origin],
    logger: options.logger,
  });
  const url = new URL(options.readerUrl);
  await listen(reader, Number(url.port), url.hostname);
  return reader;
}

/**
 * J-LIS's registry operator registers the portal as a relying party of JPKI (署名検証者), so that it
 * may link the signing certificates of ぴったりサービス's applications and ask for the
 * user-authentication serial issued with each (S→R). Idempotent (a re-registration renames).
 */
export async function registerPortalRelyingParty(pkiDir: string, jlisUrl: string): Promise<void> {
  const transport = await credentialTransport({
    pkiDir,
    parties: [demoOperator('registry')],
    clock: systemClock,
    crl: { file: pkiPaths(pkiDir).crlDer },
    timeoutMs: 60_000,
  });
  try {
    await createClient(jpkiApi, {
      transport,
      baseUrl: jlisUrl,
      peer: 'J-LIS',
      party: 'jlis',
    }).registerRelyingParty({
      body: { partyId: 'portal', name: 'マイナポータル（ぴったりサービス）' },
    });
  } finally {
    await transport.close();
  }
}
