/**
 * The browser's verifier (web-verify.ts) against the Node side: heads signed by tree-head.ts, proofs served
 * by log.ts, and verify.ts's `verifyInclusion` as the reference it must agree with.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompactSign, exportJWK, generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from './canonical-json.ts';
import { fromHex, leafHash, toHex } from './hash.ts';
import { createMerkleLog, type MerkleLog } from './log.ts';
import { createMemoryMerkleStore } from './memory-store.ts';
import { signTreeHead, type TreeHeadKey } from './tree-head.ts';
import { verifyInclusion } from './verify.ts';
import {
  verifyInclusionWeb,
  verifyRecordEvidence,
  verifyTreeHeadWeb,
  type EvidenceLeaf,
  type PublicJwk,
  type RecordEvidence,
} from './web-verify.ts';

let keys: { publicKey: TreeHeadKey; privateKey: TreeHeadKey };
let otherKeys: { publicKey: TreeHeadKey; privateKey: TreeHeadKey };
let jwk: PublicJwk;

/** Three records' events in one log, interleaved as a core logs them. */
const PN = [
  '0190f5a2-0000-7000-8000-00000000000a',
  '0190f5a2-0000-7000-8000-00000000000b',
  '0190f5a2-0000-7000-8000-00000000000c',
];
const EVENTS = [0, 1, 0, 2, 1, 0, 2].map((r, i) =>
  canonicalJson({
    v: 1,
    role: 'core',
    event: `e${String(i)}`,
    processingNumber: PN[r],
    at: `2026-04-01T00:00:0${String(i)}.000Z`,
  }),
);

let log: MerkleLog;
let head: string;

beforeAll(async () => {
  keys = await generateKeyPair('ES256', { extractable: true });
  otherKeys = await generateKeyPair('ES256');
  jwk = (await exportJWK(keys.publicKey)) as PublicJwk;
  log = createMerkleLog({ store: createMemoryMerkleStore() });
  await log.append(EVENTS.map((e) => new TextEncoder().encode(e)));
  head = await signTreeHead(
    { treeSize: EVENTS.length, rootHash: await log.root(), timestamp: 1_775_000_000_000 },
    keys.privateKey,
    'core-1',
  );
});

async function leavesOf(processingNumber: string, size = EVENTS.length): Promise<EvidenceLeaf[]> {
  const out: EvidenceLeaf[] = [];
  for (const [index, leaf] of EVENTS.entries()) {
    if (!leaf.includes(processingNumber)) continue;
    out.push({ index, leaf, proof: (await log.inclusionProof(index, size)).map(toHex) });
  }
  return out;
}

async function evidenceOf(processingNumber: string): Promise<RecordEvidence> {
  return { treeHead: head, leaves: await leavesOf(processingNumber) };
}

describe('checking a row of the exchange history in the browser', () => {
  it("verifies every leaf of a record against the core's signed head, with the key as the core publishes it (JWK)", async () => {
    const verdict = await verifyRecordEvidence(await evidenceOf(PN[0] ?? ''), jwk, PN[0] ?? '');
    expect(verdict).toEqual({
      ok: true,
      head: { treeSize: 7, rootHash: toHex(await log.root()), timestamp: 1_775_000_000_000, kid: 'core-1' },
    });
    expect(
      (await verifyRecordEvidence(await evidenceOf(PN[2] ?? ''), keys.publicKey as CryptoKey, PN[2] ?? ''))
        .ok,
    ).toBe(true);
  });

  it('refuses a tampered leaf (an outcome changed after logging)', async () => {
    const evidence = await evidenceOf(PN[0] ?? '');
    const [first, ...rest] = evidence.leaves;
    if (!first) throw new Error('no leaf');
    const tampered = { ...first, leaf: first.leaf.replace('"e0"', '"e9"') };
    expect(tampered.leaf).not.toBe(first.leaf);
    expect(
      await verifyRecordEvidence({ ...evidence, leaves: [tampered, ...rest] }, jwk, PN[0] ?? ''),
    ).toEqual({
      ok: false,
      reason: 'leaf',
      index: first.index,
    });
  });

  it("refuses a proof for another leaf, and another record's leaf offered as this one's", async () => {
    const mine = await evidenceOf(PN[0] ?? '');
    const other = await evidenceOf(PN[1] ?? '');
    const [a] = mine.leaves;
    const [b] = other.leaves;
    if (!a || !b) throw new Error('no leaf');
    // This record's leaf with the proof of another leaf (the other's index and path).
    const swapped = { ...b, leaf: a.leaf };
    expect(await verifyRecordEvidence({ ...mine, leaves: [swapped] }, jwk, PN[0] ?? '')).toMatchObject({
      ok: false,
      reason: 'leaf',
    });
    // This leaf's path at another index.
    const moved = { ...a, index: b.index };
    expect(await verifyRecordEvidence({ ...mine, leaves: [moved] }, jwk, PN[0] ?? '')).toMatchObject({
      ok: false,
      reason: 'leaf',
    });
    // A genuine leaf and proof, but of another record: proves nothing about this row.
    expect(await verifyRecordEvidence(other, jwk, PN[0] ?? '')).toMatchObject({ ok: false, reason: 'leaf' });
  });

  it('refuses a head signed by another key, an altered head, and a head that is not a tree head', async () => {
    const evidence = await evidenceOf(PN[0] ?? '');
    const forged = await signTreeHead(
      { treeSize: 7, rootHash: await log.root(), timestamp: 1 },
      otherKeys.privateKey,
      'core-1',
    );
    expect(await verifyRecordEvidence({ ...evidence, treeHead: forged }, jwk, PN[0] ?? '')).toEqual({
      ok: false,
      reason: 'head',
    });
    const [h, , s] = head.split('.');
    const payload = Buffer.from(
      canonicalJson({ rootHash: toHex(await log.root()), timestamp: 1_775_000_000_000, treeSize: 6 }),
    ).toString('base64url');
    expect(await verifyTreeHeadWeb(`${h ?? ''}.${payload}.${s ?? ''}`, jwk)).toBeUndefined();
    const notAHead = await new CompactSign(
      new TextEncoder().encode(
        canonicalJson({ rootHash: toHex(await log.root()), timestamp: 1, treeSize: 7 }),
      ),
    )
      .setProtectedHeader({ alg: 'ES256', kid: 'core-1', typ: 'renkei-message+jws' })
      .sign(keys.privateKey);
    expect(await verifyTreeHeadWeb(notAHead, jwk)).toBeUndefined();
    expect(await verifyTreeHeadWeb('not.a.jws', jwk)).toBeUndefined();
    expect(await verifyTreeHeadWeb(head, { kty: 'EC' })).toBeUndefined();
  });

  it('says a leaf the head does not cover yet is not verified, and an empty row neither', async () => {
    const evidence = await evidenceOf(PN[0] ?? '');
    const leaves = evidence.leaves.map((l, i) => (i === 1 ? { ...l, proof: null } : l));
    expect(await verifyRecordEvidence({ ...evidence, leaves }, jwk, PN[0] ?? '')).toMatchObject({
      ok: false,
      reason: 'uncovered',
    });
    expect(await verifyRecordEvidence({ ...evidence, leaves: [] }, jwk, PN[0] ?? '')).toEqual({
      ok: false,
      reason: 'empty',
    });
  });

  it("agrees with verify.ts's verifyInclusion on every leaf of every tree up to 33 leaves, and on every wrong index", async () => {
    const bytes = Array.from({ length: 33 }, (_, i) => new TextEncoder().encode(`leaf ${String(i)}`));
    const big = createMerkleLog({ store: createMemoryMerkleStore() });
    await big.append(bytes);
    for (let size = 1; size <= 33; size++) {
      const root = await big.root(size);
      for (let index = 0; index < size; index++) {
        const proof = await big.inclusionProof(index, size);
        const leaf = bytes[index] ?? new Uint8Array();
        expect(await verifyInclusionWeb(index, size, leaf, proof.map(toHex), toHex(root))).toBe(true);
        const wrong = (index + 1) % size;
        if (wrong !== index) {
          const node = verifyInclusion(wrong, size, leafHash(leaf), proof, root);
          expect(await verifyInclusionWeb(wrong, size, leaf, proof.map(toHex), toHex(root))).toBe(node);
        }
      }
    }
    expect(
      await verifyInclusionWeb(0, 1, bytes[0] ?? new Uint8Array(), ['zz'], toHex(fromHex('00'.repeat(32)))),
    ).toBe(false);
  });

  it('loads in a browser: neither it nor anything it imports uses a node: module', () => {
    const here = dirname(fileURLToPath(import.meta.url));
    const seen = new Set<string>();
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      const source = readFileSync(join(here, file), 'utf8');
      expect(source, file).not.toMatch(/from '(node:|[a-z@])/);
      for (const [, imported] of source.matchAll(/^import[^']*'\.\/([^']+)'/gm)) visit(imported ?? '');
    };
    visit('web-verify.ts');
    expect([...seen].sort()).toEqual([
      'canonical-json.ts',
      'inclusion-walk.ts',
      'tree-shape.ts',
      'web-verify.ts',
    ]);
  });
});
