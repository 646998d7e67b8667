/**
 * The contract every `MerkleStore` adapter must pass, as one suite to run against each (memory here; the
 * nodes' SQLite and PostgreSQL adapters next): Kysely's "no mocks, real databases", Hono's one suite for
 * every implementation. Call it from an adapter's test file:
 *
 *   merkleStoreContract('SQLite', async () => kyselyMerkleStore(await freshDatabase()));
 *
 * Test support, imported only by tests.
 */
import { describe, expect, it } from 'vitest';
import { RenkeiError } from '../../shared/errors.ts';
import { leafHash, toHex } from './hash.ts';
import { createMerkleLog } from './log.ts';
import { createMemoryMerkleStore } from './memory-store.ts';
import type { MerkleNode, MerkleStore } from './store.ts';

const hashOf = (n: number) => leafHash(new Uint8Array([n, n >> 8]));
const hexes = (hashes: (Uint8Array | undefined)[]) =>
  hashes.map((h) => (h === undefined ? undefined : toHex(h)));

export function merkleStoreContract(name: string, makeStore: () => Promise<MerkleStore>): void {
  describe(`MerkleStore contract: ${name}`, () => {
    it('starts empty and answers absent keys with undefined, in the order asked', async () => {
      const store = await makeStore();
      expect(await store.size()).toBe(0);
      expect(await store.getNodes([])).toEqual([]);
      expect(
        await store.getNodes([
          { level: 0, index: 0 },
          { level: 3, index: 9 },
        ]),
      ).toEqual([undefined, undefined]);
    });

    it('returns what was put, in the order asked, present and absent mixed, repeats included', async () => {
      const store = await makeStore();
      const nodes: MerkleNode[] = [
        { level: 0, index: 0, hash: hashOf(0) },
        { level: 0, index: 1, hash: hashOf(1) },
        { level: 1, index: 0, hash: hashOf(2) },
      ];
      await store.putNodes(nodes);
      const got = await store.getNodes([
        { level: 1, index: 0 },
        { level: 0, index: 5 },
        { level: 0, index: 1 },
        { level: 1, index: 0 },
        { level: 0, index: 0 },
      ]);
      expect(hexes(got)).toEqual([
        toHex(hashOf(2)),
        undefined,
        toHex(hashOf(1)),
        toHex(hashOf(2)),
        toHex(hashOf(0)),
      ]);
    });

    it('counts leaves as one more than the highest level-0 index', async () => {
      const store = await makeStore();
      await store.putNodes([
        { level: 0, index: 0, hash: hashOf(0) },
        { level: 0, index: 1, hash: hashOf(1) },
        { level: 1, index: 0, hash: hashOf(2) },
        { level: 0, index: 2, hash: hashOf(3) },
      ]);
      expect(await store.size()).toBe(3);
    });

    it('refuses to overwrite a node, and then writes nothing of the batch', async () => {
      const store = await makeStore();
      await store.putNodes([{ level: 0, index: 0, hash: hashOf(0) }]);
      const error = await store
        .putNodes([
          { level: 0, index: 1, hash: hashOf(1) },
          { level: 0, index: 0, hash: hashOf(9) },
        ])
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(RenkeiError);
      expect((error as RenkeiError).code).toBe('ERR_MERKLE_APPEND_CONFLICT');
      expect(
        hexes(
          await store.getNodes([
            { level: 0, index: 0 },
            { level: 0, index: 1 },
          ]),
        ),
      ).toEqual([toHex(hashOf(0)), undefined]);
      expect(await store.size()).toBe(1);
    });

    it('refuses a batch that names one key twice', async () => {
      const store = await makeStore();
      const twice = store.putNodes([
        { level: 2, index: 0, hash: hashOf(1) },
        { level: 2, index: 0, hash: hashOf(2) },
      ]);
      await expect(twice).rejects.toMatchObject({ code: 'ERR_MERKLE_APPEND_CONFLICT' });
      expect(await store.getNodes([{ level: 2, index: 0 }])).toEqual([undefined]);
    });

    it('is not changed by a caller that alters the bytes it put or read', async () => {
      const store = await makeStore();
      const hash = hashOf(7);
      await store.putNodes([{ level: 0, index: 0, hash }]);
      hash.fill(0);
      const [read] = await store.getNodes([{ level: 0, index: 0 }]);
      expect(toHex(read as Uint8Array)).toBe(toHex(hashOf(7)));
      (read as Uint8Array).fill(0);
      expect(hexes(await store.getNodes([{ level: 0, index: 0 }]))).toEqual([toHex(hashOf(7))]);
    });

    it('carries a log: a large batch in, the same roots and proofs out as the memory store', async () => {
      const leaves = Array.from({ length: 3000 }, (_, i) => new Uint8Array([i & 0xff, i >> 8]));
      const log = createMerkleLog({ store: await makeStore() });
      const reference = createMerkleLog({ store: createMemoryMerkleStore() });
      await log.append(leaves);
      await reference.append(leaves);
      expect(await log.size()).toBe(3000);
      for (const size of [1, 1024, 2999, 3000])
        expect(toHex(await log.root(size))).toBe(toHex(await reference.root(size)));
      expect((await log.inclusionProof(1500, 3000)).map(toHex)).toEqual(
        (await reference.inclusionProof(1500, 3000)).map(toHex),
      );
      expect((await log.consistencyProof(777, 3000)).map(toHex)).toEqual(
        (await reference.consistencyProof(777, 3000)).map(toHex),
      );
    });
  });
}
