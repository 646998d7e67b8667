/**
 * The envelope as the network is meant to use it, end to end, for one inquiry: the requester asks
 * the core, the core asks the provider, the provider answers with items the core cannot read, and the
 * requester checks both who answered and what they answered. This is the wiring README.md describes
 * ("How the core relays without reading"), written as a test so that the transport has a model.
 */
import { describe, expect, it } from 'vitest';
import { decryptForRecipient, encryptForRecipient } from './item-encryption.ts';
import { assertAnswers, messageHash } from './message-hash.ts';
import { signMessage } from './sign-message.ts';
import { INQUIRY, frozenTime, makeParty, resolverFor, type TestParty } from './test-support.ts';
import { verifyMessage } from './verify-message.ts';

const requester = makeParty('jps');
const requesterEncryption = makeParty('jps', 'jps-enc-01');
const core = makeParty('core');
const provider = makeParty('131016');
const resolveKey = resolverFor(requester, core, provider);
const PN = '0195f0a4-2c3e-7b1a-8d4f-5e6a7b8c9d0e';
const OTHER_PN = '0195f0a4-2c3e-7b1a-8d4f-5e6a7b8c9d0f';
const ITEMS = [{ itemNo: 2, layoutVersion: '2026.1', data: { taxableIncome: 4_210_000 } }];

interface Message {
  from: TestParty;
  to: string;
  type: string;
  payload: Record<string, unknown>;
  inResponseTo?: string;
}

/** One clock for everyone, one replay guard per party. */
function network() {
  const { clock } = frozenTime();
  const guards = new Map<string, ReturnType<typeof frozenTime>['replay']>();
  const send = ({ from, to, type, payload, inResponseTo }: Message) =>
    signMessage({
      type,
      payload,
      sender: from.id,
      audience: to,
      key: from.privateKey,
      kid: from.kid,
      clock,
      inResponseTo,
    });
  const receive = (self: string, jws: string, expectedType: string, expectedSender: string) => {
    const replay = guards.get(self) ?? frozenTime().replay;
    guards.set(self, replay);
    return verifyMessage(jws, { expectedType, audience: self, expectedSender, resolveKey, replay, clock });
  };
  return { send, receive };
}

type Send = ReturnType<typeof network>['send'];

/** The provider's items: signed to the requester, naming its inquiry, then encrypted to it. */
async function sealItems(
  send: Send,
  from: TestParty,
  inquiryHash: string,
  processingNumber = PN,
): Promise<string> {
  const payload = { processingNumber, items: ITEMS };
  const signed = await send({ from, to: 'jps', type: 'AnsweredItems', payload, inResponseTo: inquiryHash });
  return encryptForRecipient(signed, requesterEncryption.publicKey, {
    kid: requesterEncryption.kid,
    processingNumber,
  });
}

/** One exchange; `forge` lets the core replace the sealed items it relays. */
async function exchange(forge?: (send: Send) => Promise<string>) {
  const { send, receive } = network();

  // requester → core. The requester keeps the hash of what it sent.
  const inquiry = await send({ from: requester, to: 'core', type: 'InquiryRequest', payload: INQUIRY });
  const inquiryHash = messageHash(inquiry);
  const inquiryAtCore = await receive('core', inquiry, 'InquiryRequest', 'jps');

  // core → provider, carrying the inquiry's hash as an opaque value (never the inquiry: its code is
  // the requester's, which the provider must not see).
  const payload = { processingNumber: PN, inquiryHash: inquiryAtCore.hash };
  const request = await send({ from: core, to: '131016', type: 'ProvisionRequest', payload });
  const requestHash = messageHash(request);
  const requestAtProvider = await receive('131016', request, 'ProvisionRequest', 'core');

  // provider → core: the answer to the core's request, with items only the requester can open.
  const sealed = await sealItems(send, provider, requestAtProvider.msg.inquiryHash as string);
  const answer = await send({
    from: provider,
    to: 'core',
    type: 'ProvisionAnswer',
    payload: { processingNumber: PN, outcome: 'provided', items: sealed },
    inResponseTo: requestAtProvider.hash,
  });
  const answerAtCore = await receive('core', answer, 'ProvisionAnswer', '131016');
  assertAnswers(answerAtCore, requestHash);

  // core → requester: the same ciphertext, relayed (or, in the attacks, replaced).
  const relayed = forge === undefined ? (answerAtCore.msg.items as string) : await forge(send);
  const delivery = await send({
    from: core,
    to: 'jps',
    type: 'AnswerDelivery',
    payload: { processingNumber: PN, items: relayed },
    inResponseTo: inquiryAtCore.hash,
  });

  // requester: who delivered and for which inquiry; then what was answered, and by whom.
  const deliveryAtRequester = await receive('jps', delivery, 'AnswerDelivery', 'core');
  assertAnswers(deliveryAtRequester, inquiryHash);
  const inner = await decryptForRecipient(
    deliveryAtRequester.msg.items as string,
    requesterEncryption.privateKey,
    {
      expectedKid: requesterEncryption.kid,
      processingNumber: PN,
    },
  );
  const items = await receive('jps', inner as string, 'AnsweredItems', '131016');
  assertAnswers(items, inquiryHash);
  return { items: items.msg.items, sealed };
}

describe('an answer from provider to requester through the core', () => {
  it('delivers the provider’s items to the requester, proven the provider’s and answering its inquiry', async () => {
    expect((await exchange()).items).toEqual(ITEMS);
  });

  it('gives the core ciphertext it cannot open with its own key', async () => {
    const { sealed } = await exchange();
    await expect(
      decryptForRecipient(sealed, core.privateKey, { processingNumber: PN }),
    ).rejects.toMatchObject({
      code: 'ERR_DECRYPTION_FAILED',
    });
  });

  it('catches a core that replaces the items with its own, encrypted to the requester’s public key', async () => {
    // ECDH-ES is anonymous: the core can encrypt to the requester. Only the provider's inner signature tells.
    const forge = (send: Send) => sealItems(send, { ...core, id: '131016' }, messageHash('a.b.c'));
    await expect(exchange(forge)).rejects.toMatchObject({ code: 'ERR_SIGNATURE_INVALID' });
  });

  it('catches a core that relays the provider’s genuine items of another inquiry', async () => {
    const forge = (send: Send) => sealItems(send, provider, messageHash('a.b.c'), OTHER_PN);
    await expect(exchange(forge)).rejects.toMatchObject({ code: 'ERR_DECRYPTION_FAILED' });
  });

  it('catches items the provider signed for another inquiry, even under this processing number', async () => {
    const forge = (send: Send) => sealItems(send, provider, messageHash('a.b.c'));
    await expect(exchange(forge)).rejects.toMatchObject({ code: 'ERR_ANSWER_MISMATCH' });
  });
});
