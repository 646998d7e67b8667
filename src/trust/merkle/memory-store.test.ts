import { createMemoryMerkleStore } from './memory-store.ts';
import { merkleStoreContract } from './store-contract.ts';

merkleStoreContract('memory', () => Promise.resolve(createMemoryMerkleStore()));
