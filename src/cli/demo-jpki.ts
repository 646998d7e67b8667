/**
 * `renkei demo jpki`: seed 002's relying-party flow (公的個人認証サービス活用フロー ①–⑧) end to end on
 * a fresh network, with a real virtual card. The core and J-LIS (its JPKI CA, its publication
 * listener for CRLs and OCSP) start as `renkei demo` starts them, with the two municipalities the
 * story needs; a municipality numbers the holder and issues the card through the card lifecycle (the
 * keys made inside the card, the certificates from J-LIS's own CA); J-LIS's registry operator
 * registers the bank; then the bank's account opening (signed with the signing password, verified,
 * OCSP, linked S→R), a later login (the 4-digit PIN, recognised by R), a move that revokes S, the
 * same card endorsed (追記) and given a new S, the bank's 最新性確認 (old S → new S), and two refusals. Nothing here prints an Individual
 * Number, a PIN or a password.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import { VirtualCard, writeCardFile } from '../card/virtual-card.ts';
import { loadLegalTable } from '../domain/legal-table/index.ts';
import { launchNetwork, type Network } from '../network/launch.ts';
import { demoOperator } from '../network/pki-setup.ts';
import type { WorldInstitution } from '../network/world.ts';
import { createSignedData, verifySignedData } from '../nodes/jlis/jpki/cms.ts';
import { checkOcsp } from '../protocol/ocsp-client.ts';
import type { FourInformation } from '../nodes/jlis/jpki/port.ts';
import { JPKI_SIGNING_ALGORITHM, readFourInformation } from '../nodes/jlis/jpki/profiles.ts';
import { createClient, type Client } from '../protocol/api.ts';
import type { CardIssued } from '../protocol/cards.ts';
import { credentialTransport } from '../protocol/client-credentials.ts';
import { jlisApi, jpkiApi } from '../protocol/routes.ts';
import type { Transport } from '../protocol/transport.ts';
import { systemClock } from '../shared/clock.ts';
import { RenkeiError } from '../shared/errors.ts';
import { issuePartyCertificates } from '../trust/pki/authority.ts';
import { crlPem } from '../trust/pki/crl.ts';
import { pkiPaths } from '../trust/pki/files.ts';
import { x509 } from '../trust/pki/x509.ts';

/** 千代田区 issues the card; 大阪市 records the move in, writes it on the card and issues the new S. */
const CHIYODA: WorldInstitution = {
  id: '131016',
  name: '千代田区',
  nameEn: 'Chiyoda City',
  kind: 'municipality',
};
const OSAKA: WorldInstitution = { id: '271004', name: '大阪市', nameEn: 'Osaka City', kind: 'municipality' };
export const DEMO_BANK = { partyId: 'demobank:business', name: 'デモ銀行' };
/** A party of the network that J-LIS never registered as a relying party. */
export const UNREGISTERED_BANK = 'otherbank:business';

/** The seed's holder (霞 太郎, 東京都千代田区霞が関2-1-1): synthetic, as every demo resident. */
const HOLDER = {
  name: '霞 太郎',
  nameKana: 'カスミ タロウ',
  address: '東京都千代田区霞が関2丁目1番1号',
  dateOfBirth: '1980-05-15',
  sex: 'male' as const,
};
const NEW_ADDRESS = '大阪府大阪市北区中之島1丁目3番20号';
/** The holder's secrets, typed at the counter: used here, never printed. */
const PIN = '4321';
const WRONG_PIN = '1234';
const SIGNING_PASSWORD = 'KASUMI2026';
/** The signing password the holder sets for the new signing certificate after the move. */
const NEW_SIGNING_PASSWORD = 'NAKANOSHIMA2026';

/** One row of the closing table. */
export interface DemoRow {
  step: string;
  who: string;
  what: string;
  serials: string;
  result: string;
}

export interface JpkiDemoOptions {
  /** An empty directory the network keeps its data in. */
  dir: string;
  /** Where to write the cards' certificates, the JPKI CA bundle and the CRLs (PEM), if anywhere. */
  out?: string | undefined;
  say: (line: string) => void;
}

/** The step being run, so that a failure names it. */
export class DemoStepFailed extends Error {
  constructor(
    readonly step: string,
    override readonly cause: unknown,
  ) {
    super(`${step}: ${cause instanceof RenkeiError ? `${cause.code}: ${cause.message}` : String(cause)}`);
  }
}

/** Run the flow; rows for the closing table. Throws DemoStepFailed naming the step that failed. */
export async function runJpkiDemo(options: JpkiDemoOptions): Promise<DemoRow[]> {
  const { say } = options;
  const rows: DemoRow[] = [];
  let current = 'start';
  const step = async <T>(label: string, run: () => Promise<T>): Promise<T> => {
    current = label;
    return run();
  };
  const row = (r: DemoRow) => rows.push(r);
  const transports: Transport[] = [];
  let network: Network | undefined;
  try {
    // A directory that cannot be made fails before anything starts.
    if (options.out !== undefined) {
      await step('--out: making the directory', () =>
        Promise.resolve(mkdirSync(options.out!, { recursive: true })),
      );
    }
    network = await step('J-LIS and the trust layer start', () =>
      launchNetwork({
        dataDir: options.dir,
        legalTable: loadLegalTable(),
        institutions: [CHIYODA, OSAKA],
        basePort: 0,
      }),
    );
    const pkiDir = network.pkiDir!;
    const publicationUrl = network.jlis.publicationUrl!;
    say(
      `J-LIS started at ${network.jlis.url}, JPKI publication (CRL, OCSP) at ${publicationUrl}; data in ${options.dir}`,
    );
    for (const partyId of [DEMO_BANK.partyId, UNREGISTERED_BANK]) {
      await issuePartyCertificates({ dir: pkiDir, partyId, role: 'business', clock: systemClock });
    }
    const client = async <A extends typeof jlisApi | typeof jpkiApi>(
      api: A,
      party: string,
    ): Promise<Client<A>> => {
      const transport = await credentialTransport({
        pkiDir,
        parties: [party],
        clock: systemClock,
        crl: { file: pkiPaths(pkiDir).crlDer },
        timeoutMs: 60_000,
      });
      transports.push(transport);
      return createClient(api, { transport, baseUrl: network!.jlis.url, peer: 'J-LIS', party: 'jlis' });
    };
    const chiyoda = await client(jlisApi, `${CHIYODA.id}:business`);
    const osaka = await client(jlisApi, `${OSAKA.id}:business`);
    const registry = await client(jpkiApi, demoOperator('registry'));
    const bank = await client(jpkiApi, DEMO_BANK.partyId);
    const otherBank = await client(jpkiApi, UNREGISTERED_BANK);

    // The bank trusts J-LIS's published CA bundle: the two issuing CAs, then the root.
    const bundlePem = await (await fetch(`${publicationUrl}/jpki/v1/ca-bundle.pem`)).text();
    const [signingCa, authenticationCa, root] = x509.PemConverter.decodeWithHeaders(bundlePem).map(
      (p) => new x509.X509Certificate(p.rawData),
    );
    if (!signingCa || !authenticationCa || !root) throw new Error('the JPKI CA bundle is incomplete');
    const ocspUrl = `${publicationUrl}/jpki/v1/ocsp`;

    // ── 準備: the municipality numbers the holder and issues the card; J-LIS registers the bank.
    say('\n準備 Set-up: the holder, the card, the bank');
    const { residentRecordCode } = await step('住民登録 resident registration', () =>
      chiyoda.registerResident({ body: HOLDER }),
    );
    say(
      `  ・住民登録 ${CHIYODA.name} registers the holder at J-LIS: resident record code ${residentRecordCode} (the Individual Number stays at J-LIS)`,
    );
    const cardsDir = join(options.dir, 'cards');
    mkdirSync(cardsDir, { recursive: true, mode: 0o700 });
    const applied = await step('申請 card application', () =>
      chiyoda.applyForCard({ body: { residentRecordCode, clerkId: 'clerk-01' } }),
    );
    const firstIssued = await step('交付 card issuance', () =>
      chiyoda.issueCard({
        body: { cardId: applied.cardId, pin: PIN, signingPassword: SIGNING_PASSWORD, clerkId: 'clerk-01' },
      }),
    );
    const firstCard = holderCard(firstIssued, join(cardsDir, 'card-1.card'));
    const S1 = firstIssued.card.signingSerial ?? '';
    const R1 = firstIssued.card.authenticationSerial ?? '';
    say(
      `  ・申請・交付 Card ${applied.cardId} applied for and issued by ${CHIYODA.name}: two RSA-2048 key pairs made inside the card, certified by J-LIS's JPKI CA`,
    );
    say(`      signing certificate (署名用) S ${S1}; user-authentication certificate (利用者証明用) R ${R1}`);
    await step('交付済 delivery', () =>
      chiyoda.deliverCard({ body: { cardId: applied.cardId, clerkId: 'clerk-01' } }),
    );
    say(`  ・交付済 Delivered to the holder (the card file, mode 0600: ${firstCard.path})`);
    row({
      step: '準備',
      who: CHIYODA.name,
      what: '交付 card issued and delivered',
      serials: `S ${S1}\nR ${R1}`,
      result: 'delivered',
    });
    await step('署名検証者の登録 relying-party registration', () =>
      registry.registerRelyingParty({ body: DEMO_BANK }),
    );
    say(
      `  ・署名検証者の登録 J-LIS's registry operator registers the bank as a relying party: ${DEMO_BANK.partyId} (${DEMO_BANK.name})`,
    );
    row({
      step: '準備',
      who: 'J-LIS operator',
      what: '署名検証者の登録 relying party registered',
      serials: DEMO_BANK.partyId,
      result: 'registered',
    });

    // ── 口座開設: ①–⑧.
    say('\n口座開設 Account opening (seed 002 ①–⑧)');
    const form = {
      relyingPartyId: DEMO_BANK.partyId,
      form: '口座開設兼個人ポータル開設申込書',
      purpose: '口座開設',
      account: { branch: '001', type: 'ordinary' },
    };
    say(
      `① 申込書入力 The holder fills in the bank's form: ${form.form} (branch ${form.account.branch}, ordinary account)`,
    );
    row({
      step: '①',
      who: 'holder',
      what: '申込書入力 account-opening form',
      serials: '',
      result: 'filled in',
    });
    const consent = await step('② 電子署名 signing with the card', async () => {
      const certificate = await firstCard.card.readCertificate('signing', SIGNING_PASSWORD);
      return createSignedData({
        content: new TextEncoder().encode(JSON.stringify(form)),
        certificate: certificate.certificateDer,
        sign: (tbs) => firstCard.card.signWithSigningKey(SIGNING_PASSWORD, tbs),
      });
    });
    say(
      `② 電子署名 Signed inside the card after the signing password: a CMS SignedData of ${consent.byteLength} bytes carrying S ${S1}`,
    );
    row({
      step: '②',
      who: 'card',
      what: '電子署名 CMS SignedData (signing password)',
      serials: `S ${S1}`,
      result: 'signed',
    });
    say(`③ 申請 The signed application is sent to the bank`);
    row({
      step: '③',
      who: 'holder → bank',
      what: '申請 application sent',
      serials: `S ${S1}`,
      result: 'sent',
    });
    let ocspS1: Awaited<ReturnType<typeof checkOcsp>> | undefined;
    const verified = await step('④–⑥ 署名検証・有効性確認 verification', () =>
      verifySignedData(consent, {
        root,
        issuers: [signingCa],
        at: new Date(),
        status: async (certificate) => {
          ocspS1 = await checkOcsp({ url: ocspUrl, certificate, issuer: signingCa });
          return ocspS1.status;
        },
      }),
    );
    const four = readFourInformation(verified.certificate);
    say(
      `④ 署名検証 The bank verifies the signature and the chain to the JPKI root: valid; the certificate reads ${four.name}, ${four.address}, born ${four.dateOfBirth}, ${four.sex}`,
    );
    row({
      step: '④',
      who: 'bank',
      what: '署名検証 signature and chain',
      serials: `S ${verified.serial}`,
      result: 'valid',
    });
    say(`⑤ 有効性確認の依頼 The bank asks J-LIS's OCSP responder about S ${verified.serial}`);
    say(`⑥ 有効性確認結果 ${ocspS1?.status ?? '?'} (signed by ${ocspS1?.responder ?? '?'})`);
    row({
      step: '⑤⑥',
      who: 'bank → J-LIS',
      what: '有効性確認 OCSP',
      serials: `S ${verified.serial}`,
      result: ocspS1?.status ?? '?',
    });
    const linked = await step('⑦ 発行番号の送信 link', () =>
      bank.registerLink({ body: { signedConsent: Buffer.from(consent).toString('base64') } }),
    );
    say(
      `⑦ 発行番号の送信 The bank sends S ${linked.signingSerial} to J-LIS with the holder's signed consent: linked`,
    );
    row({
      step: '⑦',
      who: 'bank → J-LIS',
      what: '紐付け link S with consent',
      serials: `S ${linked.signingSerial}`,
      result: linked.created ? 'linked' : 'already linked',
    });
    const sToR = await step('⑧ 発行番号の回答 S→R', () =>
      bank.lookupAuthenticationSerial({ body: { signingSerial: linked.signingSerial } }),
    );
    /** The bank's customer table: user-authentication serial → customer number. */
    const customers = new Map<string, string>([[sToR.authenticationSerial, 'customer 0001']]);
    say(
      `⑧ 発行番号の回答 J-LIS answers R ${sToR.authenticationSerial} (${sToR.authenticationStatus}): S ${sToR.signingSerial} and R linked for customer 0001`,
    );
    row({
      step: '⑧',
      who: 'J-LIS → bank',
      what: '紐付け S→R',
      serials: `S ${sToR.signingSerial}\nR ${sToR.authenticationSerial}`,
      result: 'customer 0001',
    });
    expectEqual(sToR.authenticationSerial, R1, 'R answered by J-LIS', 'R on the card');

    // ── 次回以降: a login with the user-authentication key.
    say("\n次回以降 A later login (seed 002 ①'–④')");
    const login = async (card: VirtualCard, label: string) => {
      const challenge = webcrypto.getRandomValues(new Uint8Array(32));
      const signature = await card.signWithAuthenticationKey(PIN, challenge);
      const presented = new x509.X509Certificate(
        (await card.readCertificate('authentication')).certificateDer,
      );
      const ok = await verifyLogin(presented, challenge, signature, { root, authenticationCa, ocspUrl });
      const serial = normalisedSerial(presented.serialNumber);
      const customer = customers.get(serial);
      if (!ok.valid || customer === undefined) {
        throw new Error(`${label}: the login was not recognised (${ok.why ?? 'R not among the customers'})`);
      }
      return { serial, customer, ocsp: ok.ocsp };
    };
    say(`①' ログイン画面 The bank's login page sends a challenge (32 random bytes)`);
    const refusal = await step("②' a wrong PIN", async () => {
      try {
        await firstCard.card.signWithAuthenticationKey(WRONG_PIN, new Uint8Array(32));
      } catch (error) {
        if (error instanceof RenkeiError && error.code === 'ERR_WRONG_PIN') return error;
        throw error;
      }
      throw new Error('the card accepted a wrong PIN');
    });
    const triesLeft = String(refusal.details.remainingTries);
    say(
      `    ✗ 拒否 Refused: the holder mistypes the 4-digit PIN: ${refusal.code}, ${triesLeft} tries left before the card locks`,
    );
    row({
      step: "②' ✗",
      who: 'card',
      what: '暗証番号誤り wrong PIN',
      serials: '',
      result: `refused ${refusal.code}\n${triesLeft} tries left`,
    });
    const first = await step("②'–④' login", () => login(firstCard.card, 'login'));
    say(
      `②' 電子利用者証明 The card signs the challenge with the user-authentication key after the 4-digit PIN (the counter is back to 3)`,
    );
    say(`③' ログイン The signature and the user-authentication certificate R ${first.serial} reach the bank`);
    say(
      `④' 利用者証明検証 Signature and chain valid, OCSP ${first.ocsp}: R ${first.serial} is ${first.customer}, recognised (no four information sent)`,
    );
    row({
      step: "②'–④'",
      who: 'card → bank',
      what: 'ログイン login (4-digit PIN)',
      serials: `R ${first.serial}`,
      result: `recognised\n${first.customer}`,
    });

    // ── 転居: the move revokes S; the card kept in use with a new S; the bank's 最新性確認.
    say(
      "\n転居・追記・最新性確認 A move, the card kept in use with a new signing certificate, and the bank's check for the newest certificate",
    );
    const today = todayInJapan();
    await step('転入 move recorded at J-LIS', () =>
      osaka.recordResidentChange({
        body: { residentRecordCode, change: 'move_in', effectiveDate: today, address: NEW_ADDRESS },
      }),
    );
    say(
      `  ・転入 ${OSAKA.name} records the move in at J-LIS (effective ${today}): the signing certificate S ${S1} is revoked (move), as its address is out of date`,
    );
    row({
      step: '転入',
      who: OSAKA.name,
      what: 'move recorded at J-LIS',
      serials: `S ${S1}`,
      result: 'S revoked (move)',
    });
    // The card stays in use, as the real one does: 大阪市 writes the new address on it (券面事項の追記,
    // the holder typing the PIN) and issues a new signing certificate onto it (署名用電子証明書の発行),
    // the holder setting the signing password; the user-authentication certificate R stays.
    const endorsed = await step('追記 the move written on the card', () =>
      osaka.endorseCard({
        body: { cardId: applied.cardId, card: cardArchive(firstCard.card), pin: PIN, clerkId: 'clerk-02' },
      }),
    );
    holderCard(endorsed, firstCard.path);
    const face = await VirtualCard.open(firstCard.path).readCardFace(PIN);
    const lines = (face.endorsements ?? []).map((e) => `${e.field} ${e.endorsedOn}`).join(', ');
    say(
      `  ・追記 ${OSAKA.name} writes the move on card ${applied.cardId} (the holder types the PIN): the card face and its input assist now read the new address, the old one kept as 追記 (${lines})`,
    );
    row({
      step: '追記',
      who: OSAKA.name,
      what: '券面事項の追記 move written on the card',
      serials: '',
      result: 'endorsed',
    });
    const reissued = await step('署名用電子証明書の発行 a new S on the same card', () =>
      osaka.issueSigningCertificate({
        body: {
          cardId: applied.cardId,
          card: cardArchive(VirtualCard.open(firstCard.path)),
          signingPassword: NEW_SIGNING_PASSWORD,
          clerkId: 'clerk-02',
        },
      }),
    );
    const secondCard = holderCard(reissued, firstCard.path);
    const S2 = reissued.card.signingSerial ?? '';
    const R2 = reissued.card.authenticationSerial ?? '';
    say(
      `  ・署名用電子証明書の発行 ${OSAKA.name} issues a new signing certificate onto the same card, under the signing password the holder sets: S ${S2}; R ${R2} unchanged`,
    );
    row({
      step: '発行',
      who: OSAKA.name,
      what: 'new signing certificate, same card',
      serials: `S ${S2}\nR ${R2}`,
      result: 'valid',
    });
    const oldStatus = await step('⑤⑥ OCSP of the old S', () =>
      checkOcsp({ url: ocspUrl, certificate: verified.certificate, issuer: signingCa }),
    );
    say(
      `⑤⑥ 有効性確認 The bank's periodic check of S ${S1}: ${oldStatus.status}${oldStatus.reason ? ` (${oldStatus.reason})` : ''}: perhaps the customer moved`,
    );
    row({
      step: '⑤⑥',
      who: 'bank → J-LIS',
      what: '有効性確認 OCSP of old S',
      serials: `S ${S1}`,
      result: `${oldStatus.status}${oldStatus.reason ? `\n${oldStatus.reason}` : ''}`,
    });
    const newest = await step('最新性確認 newest signing lookup', () =>
      bank.lookupNewestSigning({ body: { signingSerial: S1 } }),
    );
    const newestCertificate = new x509.X509Certificate(Buffer.from(newest.newestCertificate, 'base64'));
    const changedFields = changed(four, readFourInformation(newestCertificate));
    say(
      `  ・最新性確認 old S ${newest.signingSerial} (${newest.signingStatus}${newest.revocationReason ? `, ${newest.revocationReason}` : ''}) → new S ${newest.newestSerial} (${newest.newestStatus}): four information ${newest.fourInformationChanged ? `changed (${changedFields.join(', ')})` : 'unchanged'}`,
    );
    row({
      step: '最新性確認',
      who: 'bank → J-LIS',
      what: 'old S → new S',
      serials: `S ${newest.signingSerial}\n→ S ${newest.newestSerial}`,
      result: newest.fourInformationChanged
        ? `four information changed\n(${changedFields.join(', ')})`
        : 'unchanged',
    });
    expectEqual(newest.newestSerial, S2, 'the newest S', 'the card’s new S');
    const newR = await step('⑧ S→R for the new S', () =>
      bank.lookupAuthenticationSerial({ body: { signingSerial: newest.newestSerial } }),
    );
    customers.set(newR.authenticationSerial, 'customer 0001');
    say(
      `⑧ 発行番号の回答 S ${newR.signingSerial} → R ${newR.authenticationSerial}: the same R, the bank updates customer 0001's address`,
    );
    row({
      step: '⑧',
      who: 'J-LIS → bank',
      what: '紐付け S→R (new S)',
      serials: `S ${newR.signingSerial}\nR ${newR.authenticationSerial}`,
      result: 'customer 0001',
    });
    const second = await step('login after the move', () => login(secondCard.card, 'login after the move'));
    say(
      `④' 利用者証明検証 A login with the same card after the move: R ${second.serial} is ${second.customer}, recognised`,
    );
    row({
      step: "②'–④'",
      who: 'card → bank',
      what: 'ログイン login after the move',
      serials: `R ${second.serial}`,
      result: `recognised\n${second.customer}`,
    });

    // ── 拒否: a party J-LIS never registered asks for the link.
    const notRegistered = await step('拒否 an unregistered relying party', async () => {
      try {
        await otherBank.lookupAuthenticationSerial({ body: { signingSerial: S2 } });
      } catch (error) {
        if (error instanceof RenkeiError) return error;
        throw error;
      }
      throw new Error('J-LIS answered a relying party it never registered');
    });
    if (notRegistered.code !== 'ERR_NOT_REGISTERED_RELYING_PARTY') throw notRegistered;
    say(
      `\n✗ 拒否 Refused: ${UNREGISTERED_BANK}, never registered by J-LIS, asks S→R for S ${S2}: ${notRegistered.code} (recorded at J-LIS)`,
    );
    row({
      step: '✗',
      who: UNREGISTERED_BANK,
      what: 'S→R by an unregistered party',
      serials: `S ${S2}`,
      result: `refused\n${notRegistered.code}`,
    });

    if (options.out !== undefined) {
      await step('--out: writing the certificates', async () => {
        const out = options.out!;
        const pem = (certificate: x509.X509Certificate) => certificate.toString('pem') + '\n';
        const authentication = async (card: VirtualCard) =>
          pem(new x509.X509Certificate((await card.readCertificate('authentication')).certificateDer));
        writeFileSync(join(out, 'jpki-ca-bundle.pem'), bundlePem);
        writeFileSync(join(out, 'card-signing-old.pem'), pem(verified.certificate));
        writeFileSync(join(out, 'card-signing-new.pem'), pem(newestCertificate));
        writeFileSync(join(out, 'card-authentication.pem'), await authentication(secondCard.card));
        for (const kind of ['signing', 'authentication'] as const) {
          const crl = new Uint8Array(
            await (await fetch(`${publicationUrl}/jpki/v1/crl/${kind}`)).arrayBuffer(),
          );
          writeFileSync(join(out, `crl-${kind}.pem`), crlPem(crl));
        }
        say(
          `\nWrote the card's certificates (the old and the new signing one), the JPKI CA bundle and the CRLs (PEM) to ${out}`,
        );
      });
    }
    return rows;
  } catch (error) {
    throw error instanceof DemoStepFailed ? error : new DemoStepFailed(current, error);
  } finally {
    for (const transport of transports) await transport.close();
    await network?.close();
  }
}

/** The holder's card file as the clerk's counter reads it, base64. */
function cardArchive(card: VirtualCard): string {
  return Buffer.from(card.toBytes()).toString('base64');
}

/** The card file the clerk writes for the holder, opened as the holder's reader opens it. */
function holderCard(issued: CardIssued, path: string): { card: VirtualCard; path: string } {
  writeCardFile(path, Buffer.from(issued.archive, 'base64'));
  return { card: VirtualCard.open(path), path };
}

/** ④' The bank checks a login: the certificate's chain and status, then the signature of its challenge. */
async function verifyLogin(
  presented: x509.X509Certificate,
  challenge: Uint8Array,
  signature: Uint8Array,
  trust: { root: x509.X509Certificate; authenticationCa: x509.X509Certificate; ocspUrl: string },
): Promise<{ valid: boolean; why?: string; ocsp?: string }> {
  const now = new Date();
  const chained =
    presented.issuer === trust.authenticationCa.subject &&
    (await presented.verify({ publicKey: trust.authenticationCa.publicKey, date: now })) &&
    (await trust.authenticationCa.verify({ publicKey: trust.root.publicKey, date: now }));
  if (!chained) return { valid: false, why: 'not from the JPKI user-authentication CA' };
  const status = await checkOcsp({
    url: trust.ocspUrl,
    certificate: presented,
    issuer: trust.authenticationCa,
  });
  if (status.status !== 'good') return { valid: false, why: `OCSP ${status.status}` };
  const key = await presented.publicKey.export(JPKI_SIGNING_ALGORITHM, ['verify']);
  const signed = await webcrypto.subtle.verify(
    JPKI_SIGNING_ALGORITHM,
    key,
    new Uint8Array(signature),
    new Uint8Array(challenge),
  );
  return signed
    ? { valid: true, ocsp: status.status }
    : { valid: false, why: 'the signature does not verify' };
}

function normalisedSerial(serial: string): string {
  return serial.toLowerCase().replace(/^(?:00)+(?=[0-9a-f])/, '');
}

function changed(before: FourInformation, after: FourInformation): string[] {
  const names = { name: '氏名', address: '住所', dateOfBirth: '生年月日', sex: '性別' } as const;
  return (Object.keys(names) as (keyof typeof names)[])
    .filter((k) => before[k] !== after[k])
    .map((k) => `${names[k]} ${k}`);
}

function expectEqual(actual: string, expected: string, what: string, against: string): void {
  if (normalisedSerial(actual) !== normalisedSerial(expected)) {
    throw new Error(`${what} (${actual}) is not ${against} (${expected})`);
  }
}

function todayInJapan(): string {
  return new Date(Date.now() + 9 * 3600_000).toISOString().slice(0, 10);
}
