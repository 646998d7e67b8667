/**
 * AES-256-GCM-SIV (RFC 8452) for plaintexts of exactly one block, with no AAD, under one key and one
 * nonce, many blocks per call. Output identical to any RFC 8452 implementation's (checked against the
 * RFC's vector and noble's `gcmsiv` in gcm-siv-blocks.test.ts); why it exists and why it is not
 * hand-rolled cryptography: the top of code-cipher.ts.
 *
 * With one key and one nonce, RFC 8452 §4's per-nonce keys (message-authentication key H,
 * message-encryption key) are constant, so they are derived once, here in the constructor. For a
 * one-block plaintext P and the length block L = LE64(0) ‖ LE64(128):
 *   tag        = AES(encKey, (POLYVAL(H, P ‖ L) ⊕ (nonce ‖ 0³²)) with bit 127 cleared)
 *   ciphertext = P ⊕ AES(encKey, tag with bit 127 set)   (the one CTR block; its counter never moves)
 * and POLYVAL(H, P ‖ L) = ((P•H) ⊕ L)•H = P•(H•H) ⊕ L•H, the dot product being bilinear and
 * associative (§3), so a block costs one multiplication by the constant H•H, then one XOR with the
 * constant L•H ⊕ nonce. AES runs in node:crypto over all of a call's blocks at once.
 */
import { createCipheriv, type Cipheriv } from 'node:crypto';
import { endianness } from 'node:os';
import { Polyval, polyval } from '@noble/ciphers/_polyval.js';

const BLOCK = 16;
/** LE64(bit length of the AAD: 0) ‖ LE64(bit length of the plaintext: 128) (RFC 8452 §4). */
const LENGTH_BLOCK = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 128, 0, 0, 0, 0, 0, 0, 0]);

export class OneBlockGcmSiv {
  /**
   * AES-256-ECB under the message-encryption key, padding off, never finalised: ECB keeps no state
   * between whole blocks, and it is only ever given whole blocks (checked), so one object serves all.
   */
  private readonly aes: Cipheriv;
  /** Multiplication by H•H. */
  private readonly product: BlockProduct;
  /** L•H ⊕ (nonce ‖ 0³²), as four little-endian words. */
  private readonly constantTerm: Uint32Array;

  /** Throws a TypeError unless the key is 32 bytes and the nonce 12. */
  constructor(key: Uint8Array, nonce: Uint8Array) {
    if (key.length !== 32 || nonce.length !== 12) {
      throw new TypeError('AES-256-GCM-SIV takes a 32-byte key and a 12-byte nonce');
    }
    // The word-wise POLYVAL below reads blocks in the host's byte order.
    if (endianness() !== 'LE') throw new TypeError('OneBlockGcmSiv needs a little-endian host');
    // RFC 8452 §4: H = the first halves of AES(K, LE32(0) ‖ nonce) and AES(K, LE32(1) ‖ nonce); the
    // message-encryption key the first halves of AES(K, LE32(j) ‖ nonce) for j = 2…5.
    const counters = blocks(6);
    for (let j = 0; j < 6; j++) {
      counters[j * BLOCK] = j;
      counters.set(nonce, j * BLOCK + 4);
    }
    const derived = createCipheriv('aes-256-ecb', key, null).setAutoPadding(false).update(counters);
    const half = (j: number) => derived.subarray(j * BLOCK, j * BLOCK + 8);
    const authKey = Buffer.concat([half(0), half(1)]);
    const encKey = Buffer.concat([half(2), half(3), half(4), half(5)]);
    this.aes = createCipheriv('aes-256-ecb', encKey, null).setAutoPadding(false);
    const squared = polyval(authKey, authKey); // (0 ⊕ H)•H
    this.product = new BlockProduct(squared);
    const constant = blocks(1);
    constant.set(polyval(LENGTH_BLOCK, authKey));
    for (let i = 0; i < nonce.length; i++) constant[i]! ^= nonce[i]!;
    this.constantTerm = words(constant);
    for (const secret of [derived, authKey, encKey, squared]) secret.fill(0);
  }

  /** Each block of `plaintexts` (a multiple of 16 bytes) sealed: its ciphertext block and its tag. */
  seal(plaintexts: Uint8Array): { ciphertexts: Buffer; tags: Buffer } {
    const tags = this.tagsOf(plaintexts);
    const ciphertexts = Buffer.from(plaintexts);
    this.applyKeystream(tags, ciphertexts);
    return { ciphertexts, tags };
  }

  /**
   * Decryption then tag check, per RFC 8452 §5. `authentic[i]` is 1 when block i's tag matches, the
   * comparison taking the same time whatever the bytes; the caller must not use the other blocks.
   */
  open(ciphertexts: Uint8Array, tags: Uint8Array): { plaintexts: Buffer; authentic: Uint8Array } {
    if (ciphertexts.length !== tags.length || ciphertexts.length % BLOCK !== 0) {
      throw new TypeError('one 16-byte tag for each 16-byte ciphertext block');
    }
    const count = ciphertexts.length / BLOCK;
    const plaintexts = Buffer.from(ciphertexts);
    this.applyKeystream(tags, plaintexts);
    const expected = words(this.tagsOf(plaintexts));
    const given = words(tags);
    const authentic = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      const w = i * 4;
      const difference =
        (expected[w]! ^ given[w]!) |
        (expected[w + 1]! ^ given[w + 1]!) |
        (expected[w + 2]! ^ given[w + 2]!) |
        (expected[w + 3]! ^ given[w + 3]!);
      authentic[i] = difference === 0 ? 1 : 0;
    }
    return { plaintexts, authentic };
  }

  /** AES(encKey, (P•(H•H) ⊕ L•H ⊕ nonce) with bit 127 cleared), for every block P, in one AES call. */
  private tagsOf(plaintexts: Uint8Array): Buffer {
    if (plaintexts.length % BLOCK !== 0) throw new TypeError('plaintexts are whole 16-byte blocks');
    const input = words(plaintexts);
    const sums = blocks(plaintexts.length / BLOCK);
    const s = words(sums); // written through: `sums` is freshly allocated, hence aligned
    const c = this.constantTerm;
    for (let i = 0; i < s.length; i += 4) {
      this.product.multiply(input, i, s, i);
      s[i] = s[i]! ^ c[0]!;
      s[i + 1] = s[i + 1]! ^ c[1]!;
      s[i + 2] = s[i + 2]! ^ c[2]!;
      s[i + 3] = (s[i + 3]! ^ c[3]!) & 0x7fffffff; // bit 127: the top bit of byte 15
    }
    return this.aes.update(sums);
  }

  /** XORs into each block of `text`, in place, AES(encKey, its tag with bit 127 set). */
  private applyKeystream(tags: Uint8Array, text: Buffer): void {
    const counters = Buffer.from(tags);
    for (let i = BLOCK - 1; i < counters.length; i += BLOCK) counters[i]! |= 0x80;
    const keystream = this.aes.update(counters);
    for (let i = 0; i < text.length; i++) text[i]! ^= keystream[i]!;
  }
}

/**
 * noble's POLYVAL with its accumulator zeroed for each block, so one table serves every block:
 * P•K for a block P, K the key the table was built for. We call its one-block step directly
 * because `update`/`digest` copy and allocate per call, which halved the rate; the byte orders
 * below are those of noble's `Polyval.update` and `digestInto` on a little-endian host. `s0`…`s3`
 * and `_updateBlock` are protected members (declared in noble's types), not its public API: an
 * upgrade of @noble/ciphers that changed them would fail gcm-siv-blocks.test.ts, not pass silently.
 */
class BlockProduct extends Polyval {
  constructor(key: Uint8Array) {
    // The length hint selects noble's 4-bit window: 512 table entries, ~35 KiB. The 8-bit window
    // was faster by a third but ~230 KiB a key, for thousands of cached institution keys.
    super(key, 2048);
  }

  /** `out[o..o+4] = in[i..i+4] • K`, blocks as little-endian 32-bit words. */
  multiply(input: Uint32Array, i: number, out: Uint32Array, o: number): void {
    this.s0 = this.s1 = this.s2 = this.s3 = 0;
    this._updateBlock(bswap(input[i + 3]!), bswap(input[i + 2]!), bswap(input[i + 1]!), bswap(input[i]!));
    out[o] = bswap(this.s3);
    out[o + 1] = bswap(this.s2);
    out[o + 2] = bswap(this.s1);
    out[o + 3] = bswap(this.s0);
  }
}

const bswap = (n: number): number =>
  ((n & 0xff) << 24) | ((n & 0xff00) << 8) | ((n >>> 8) & 0xff00) | (n >>> 24);

/** Zeroed, and not from Node's shared pool, so its bytes can be read as aligned 32-bit words. */
function blocks(count: number): Buffer {
  return Buffer.alloc(count * BLOCK);
}

/** The bytes as 32-bit words, copied first if unaligned (so only for reading, unless aligned). */
function words(bytes: Uint8Array): Uint32Array {
  if (bytes.byteOffset % 4 !== 0) {
    const copy = Buffer.alloc(bytes.length);
    copy.set(bytes);
    bytes = copy;
  }
  return new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >>> 2);
}
