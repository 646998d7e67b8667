/**
 * A set of whole numbers below 2⁵³ (resident record codes, Individual Numbers read as numbers), in one
 * Float64Array with open addressing: ten million take 128 MiB and a lookup is a few array reads. A
 * `Set<string>` of ten million numbers took over a gigabyte and most of a bulk run's time in hashing
 * and garbage collection.
 */
export class NumberSet {
  /** Each slot holds a member + 1, so that 0 marks an empty slot. */
  private slots: Float64Array;
  private mask: number;
  size = 0;

  constructor(expected = 1024) {
    let capacity = 1024;
    while (capacity * 0.7 < expected) capacity *= 2;
    this.slots = new Float64Array(capacity);
    this.mask = capacity - 1;
  }

  has(value: number): boolean {
    const stored = value + 1;
    for (let i = slotOf(value, this.mask); ; i = (i + 1) & this.mask) {
      const slot = this.slots[i];
      if (slot === stored) return true;
      if (slot === 0) return false;
    }
  }

  /** Add `value`; false when it was a member already. */
  add(value: number): boolean {
    if (!Number.isSafeInteger(value) || value < 0) throw new TypeError('a NumberSet holds whole numbers');
    const stored = value + 1;
    let i = slotOf(value, this.mask);
    for (; ; i = (i + 1) & this.mask) {
      const slot = this.slots[i];
      if (slot === stored) return false;
      if (slot === 0) break;
    }
    this.slots[i] = stored;
    if (++this.size > this.slots.length * 0.7) this.grow();
    return true;
  }

  private grow(): void {
    const old = this.slots;
    this.slots = new Float64Array(old.length * 2);
    this.mask = this.slots.length - 1;
    for (const stored of old) {
      if (stored === 0) continue;
      let i = slotOf(stored - 1, this.mask);
      while (this.slots[i] !== 0) i = (i + 1) & this.mask;
      this.slots[i] = stored;
    }
  }
}

/** Mix the low and high 32 bits (murmur3's finaliser): codes and numbers share long runs of digits. */
function slotOf(value: number, mask: number): number {
  let h = (value >>> 0) ^ Math.imul(Math.floor(value / 4_294_967_296), 0x85eb_ca6b);
  h = Math.imul(h ^ (h >>> 16), 0x85eb_ca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2_ae35);
  return (h ^ (h >>> 16)) & mask;
}
