import { generateKeyPair } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { fixedClock } from '../../shared/clock.ts';
import { auditLog } from './audit.ts';
import { toHex } from './hash.ts';
import { TreeHeadSigner, type HeadToSave } from './head-signer.ts';
import { createMerkleLog } from './log.ts';
import { createMemoryMerkleStore } from './memory-store.ts';
import { verifyTreeHead, type TreeHeadKey } from './tree-head.ts';

let keys: { publicKey: TreeHeadKey; privateKey: TreeHeadKey };
beforeAll(async () => {
  keys = await generateKeyPair('ES256');
});

const leaf = (n: number) => new TextEncoder().encode(`{"n":${String(n)}}`);

function setUp(options: { everyAppends?: number; lastSigned?: number; failSave?: () => boolean } = {}) {
  const store = createMemoryMerkleStore();
  const log = createMerkleLog({ store });
  const clock = fixedClock('2026-04-01T00:00:00Z');
  const saved: HeadToSave[] = [];
  const errors: unknown[] = [];
  const signer = new TreeHeadSigner({
    log,
    key: keys.privateKey,
    kid: 'core',
    clock,
    save: (head) => {
      if (options.failSave?.() === true) return Promise.reject(new Error('disk full'));
      saved.push(head);
      return Promise.resolve();
    },
    lastSignedSize: () => Promise.resolve(options.lastSigned ?? 0),
    everyAppends: options.everyAppends ?? 3,
    everyMs: 0,
    onError: (error) => errors.push(error),
  });
  return { store, log, clock, saved, errors, signer };
}

describe('tree head signer', () => {
  it('signs after every N appends a head the audit accepts', async () => {
    const { store, log, saved, signer } = setUp({ everyAppends: 3 });
    for (let i = 0; i < 7; i++) {
      await log.append([leaf(i)]);
      signer.appended(1);
      await signer.idle();
    }
    await signer.signNow();
    expect(saved.map((h) => h.treeSize)).toEqual([3, 6, 7]);
    const heads = await Promise.all(saved.map((h) => verifyTreeHead(h.jws, keys.publicKey)));
    expect(heads.map((h) => toHex(h.rootHash))).toEqual(saved.map((h) => h.rootHex));
    const report = await auditLog({
      leaves: Array.from({ length: 7 }, (_, index) => ({ index, leafBytes: leaf(index) })),
      store,
      heads,
    });
    expect(report).toMatchObject({ ok: true, headsChecked: 3 });
  });

  it('signs nothing when the log has not grown since the last head, here or before a restart', async () => {
    const { log, saved, signer } = setUp({ lastSigned: 2 });
    await log.append([leaf(0), leaf(1)]);
    expect(await signer.signNow()).toBeUndefined();
    await log.append([leaf(2)]);
    await signer.close();
    expect(saved.map((h) => h.treeSize)).toEqual([3]);
    expect(await signer.signNow()).toBeUndefined();
  });

  it('reports a failed save and signs the same leaves next time', async () => {
    let fail = true;
    const { log, saved, errors, signer } = setUp({ failSave: () => fail });
    await log.append([leaf(0)]);
    expect(await signer.signNow()).toBeUndefined();
    expect(errors).toEqual([new Error('disk full')]);
    fail = false;
    await signer.signNow();
    expect(saved.map((h) => h.treeSize)).toEqual([1]);
  });
});
