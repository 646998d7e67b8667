/**
 * `deriveIndividualNumber` for whole batches, in a worker thread: HMAC-SHA256 of ten million resident
 * record codes costs about 6 s of CPU, which the second core does while the first reads and checks the
 * file (bulk numbering derives every number during the file's check, `service/bulk-numbering.ts`).
 *
 * The codes cross as their ASCII bytes (11 a code, the buffer transferred, not copied) and the numbers
 * come back as doubles (a Float64Array, transferred): a string a code each way, and their structured
 * clone, were a tenth of the derivation's cost.
 *
 * HMAC-SHA256 is computed here in JavaScript, not with `createHmac`: the key's two padded blocks are
 * hashed once (their SHA-256 states kept), so each code costs two SHA-256 blocks and no object;
 * `createHmac` per code built a key object, a context and a digest buffer each time, 3.6 times the CPU
 * (2.15 against 0.60 s a million, measured side by side).
 *
 * The worker's code is a string (run with `eval`) because the CLI ships as one esbuild bundle, in which
 * no separate worker file exists. It repeats `numbering.ts` (the digest read big-endian and reduced
 * modulo 10¹¹ sixteen bits at a time in doubles, exact since 10¹¹ × 2¹⁶ < 2⁵³: the same as BigInt, faster) and
 * the official check digit; `numbering-worker.test.ts` holds it to both. Only counter 0 is derived here:
 * a collision (one resident in ten thousand per million numbered) is derived again in the caller.
 */
import { Worker } from 'node:worker_threads';
import { NUMBERING_KEY_BYTES } from './numbering.ts';

const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
// SHA-256 (FIPS 180-4), its compression function only.
const K = new Int32Array([
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);
const W = new Int32Array(64);
/** out = state after one more block, the block's 16 words in W[0..15]. */
function compress(state, out) {
  for (let t = 16; t < 64; t++) {
    const a = W[t - 15], b = W[t - 2];
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    W[t] = (W[t - 16] + s0 + W[t - 7] + s1) | 0;
  }
  let a = state[0], b = state[1], c = state[2], d = state[3], e = state[4], f = state[5], g = state[6], h = state[7];
  for (let t = 0; t < 64; t++) {
    const s1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + s1 + ((e & f) ^ (~e & g)) + K[t] + W[t]) | 0;
    const s0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (s0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g; g = f; f = e; e = (d + t1) | 0; d = c; c = b; b = a; a = (t1 + t2) | 0;
  }
  out[0] = (state[0] + a) | 0; out[1] = (state[1] + b) | 0; out[2] = (state[2] + c) | 0; out[3] = (state[3] + d) | 0;
  out[4] = (state[4] + e) | 0; out[5] = (state[5] + f) | 0; out[6] = (state[6] + g) | 0; out[7] = (state[7] + h) | 0;
}
// HMAC (RFC 2104): the key's inner and outer blocks hashed once; each code then costs two blocks.
let key = Buffer.from(workerData.key);
if (key.length > 64) key = createHash('sha256').update(key).digest();
const IV = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
function padded(pad) {
  const block = Buffer.alloc(64, pad);
  for (let i = 0; i < key.length; i++) block[i] ^= key[i];
  for (let i = 0; i < 16; i++) W[i] = block.readInt32BE(i * 4);
  const state = new Int32Array(8);
  compress(IV, state);
  return state;
}
const inner = padded(0x36);
const outer = padded(0x5c);
const mid = new Int32Array(8);
const digest = new Int32Array(8);
parentPort.on('message', (codes) => {
  const numbers = new Float64Array(codes.length / 11);
  for (let i = 0, k = 0; i < codes.length; i += 11, k++) {
    // The inner hash's last block: the 11 bytes, 0x80, zeros, the length in bits of ipad + code.
    W[0] = (codes[i] << 24) | (codes[i + 1] << 16) | (codes[i + 2] << 8) | codes[i + 3];
    W[1] = (codes[i + 4] << 24) | (codes[i + 5] << 16) | (codes[i + 6] << 8) | codes[i + 7];
    W[2] = (codes[i + 8] << 24) | (codes[i + 9] << 16) | (codes[i + 10] << 8) | 0x80;
    for (let t = 3; t < 15; t++) W[t] = 0;
    W[15] = (64 + 11) * 8;
    compress(inner, mid);
    // The outer hash's: the inner digest, 0x80, zeros, the length of opad + digest.
    for (let t = 0; t < 8; t++) W[t] = mid[t];
    W[8] = 0x80000000 | 0;
    for (let t = 9; t < 15; t++) W[t] = 0;
    W[15] = (64 + 32) * 8;
    compress(outer, digest);
    // The digest read big-endian sixteen bits at a time, reduced modulo 10^11.
    let r = 0;
    for (let j = 0; j < 8; j++) {
      r = (r * 65536 + (digest[j] >>> 16)) % 100000000000;
      r = (r * 65536 + (digest[j] & 0xffff)) % 100000000000;
    }
    // The check digit: weights 2,3,4,5,6,7,2,3,4,5,6 from the rightmost digit of the base.
    let sum = 0;
    for (let j = 0, rest = r; j < 11; j++, rest = Math.floor(rest / 10)) sum += (rest % 10) * ((j % 6) + 2);
    const m = sum % 11;
    numbers[k] = r * 10 + (m <= 1 ? 0 : 11 - m);
  }
  parentPort.postMessage(numbers, [numbers.buffer]);
});
`;

export interface NumberDeriver {
  /**
   * The Individual Number (counter 0) of each resident record code in `codes`, 11 ASCII digits each
   * one after the other, in order, as a whole number (its 12 digits read as one). `codes` is handed
   * over: its buffer is the worker's from then on.
   */
  derive(codes: Uint8Array): Promise<Float64Array>;
  close(): Promise<void>;
}

export function createNumberDeriver(key: Uint8Array): NumberDeriver {
  if (key.length < NUMBERING_KEY_BYTES) throw new TypeError('the numbering key is too short');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { key: Uint8Array.from(key) } });
  // The worker answers in the order it was asked.
  const waiting: { resolve: (numbers: Float64Array) => void; reject: (error: Error) => void }[] = [];
  let stopped: Error | undefined;
  const fail = (error: Error) => {
    stopped ??= error;
    for (const w of waiting.splice(0)) w.reject(error);
  };
  worker.on('message', (numbers: Float64Array) => waiting.shift()?.resolve(numbers));
  worker.on('error', fail);
  worker.on('exit', () => fail(new Error('the numbering worker stopped')));
  return {
    derive(codes) {
      if (codes.length % 11 !== 0)
        return Promise.reject(new TypeError('resident record codes are 11 digits'));
      if (stopped) return Promise.reject(stopped);
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        // Transferred whole: a view on part of a larger buffer is copied out first.
        const own =
          codes.byteOffset === 0 && codes.byteLength === codes.buffer.byteLength ? codes : codes.slice();
        worker.postMessage(own, [own.buffer as ArrayBuffer]);
      });
    },
    async close() {
      await worker.terminate();
    },
  };
}
