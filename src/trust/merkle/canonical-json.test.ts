/**
 * Vectors: cyberphone/json-canonicalization (the RFC 8785 author's reference data), `testdata/input` and
 * `testdata/output`, files values.json and weird.json; and numbers from RFC 8785 Appendix B.
 */
import { describe, expect, it } from 'vitest';
import { canonicalJson, canonicalJsonBytes } from './canonical-json.ts';

describe('canonicalJson', () => {
  it('matches the reference output for literals, numbers and string escapes', () => {
    const input =
      '{\n  "numbers": [1E30, 4.50, 333333333.33333329, 2e-3, 0.000000000000000000000000001],\n' +
      '  "escaping": "\\u20ac$\\u000F\\u000aA\'\\u0042\\u0022\\u005c\\\\\\"\\/",\n' +
      '  "literals": [null, true, false]\n}';
    expect(canonicalJson(JSON.parse(input))).toBe(
      '{"escaping":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/","literals":[null,true,false],' +
        '"numbers":[1e+30,4.5,333333333.3333333,0.002,1e-27]}',
    );
  });

  it('sorts member names by UTF-16 code units, as the reference does', () => {
    const input =
      '{"\\u20ac": "Euro Sign", "1": "One", "\\u0080": "Control\\u007f", "\\ud83d\\ude02": "Smiley",' +
      ' "\\u00f6": "Latin Small Letter O With Diaeresis", "\\ufb33": "Hebrew Letter Dalet With Dagesh",' +
      ' "</script>": "Browser Challenge"}';
    expect(canonicalJson(JSON.parse(input))).toBe(
      '{"1":"One","</script>":"Browser Challenge","\u0080":"Control\u007f",' +
        '"\u00f6":"Latin Small Letter O With Diaeresis","\u20ac":"Euro Sign","\ud83d\ude02":"Smiley",' +
        '"\ufb33":"Hebrew Letter Dalet With Dagesh"}',
    );
  });

  it('writes numbers as ECMAScript does (RFC 8785 Appendix B samples, and the 1e21 boundary)', () => {
    const samples: [number, string][] = [
      [0, '0'],
      [-0, '0'],
      [5e-324, '5e-324'],
      [1.7976931348623157e308, '1.7976931348623157e+308'],
      [9007199254740992, '9007199254740992'],
      [-9007199254740992, '-9007199254740992'],
      [295147905179352830000, '295147905179352830000'],
      [9.999999999999997e22, '9.999999999999997e+22'],
      [1e23, '1e+23'],
      [0.000001, '0.000001'],
      [9.999999999999997e-7, '9.999999999999997e-7'],
      [1e21, '1e+21'],
      [1e20, '100000000000000000000'],
    ];
    for (const [value, text] of samples) expect(canonicalJson(value)).toBe(text);
  });

  it('gives one record the same bytes whatever order its fields were built in', () => {
    const a = {
      processingNumber: 'p-1',
      outcome: 'provided',
      parties: { provider: '131016', requester: '152048' },
    };
    const b = {
      parties: { requester: '152048', provider: '131016' },
      outcome: 'provided',
      processingNumber: 'p-1',
    };
    expect(canonicalJsonBytes(a)).toEqual(canonicalJsonBytes(b));
    expect(canonicalJson(a)).toBe(
      '{"outcome":"provided","parties":{"provider":"131016","requester":"152048"},"processingNumber":"p-1"}',
    );
  });

  it('leaves out a member whose value is undefined, as an optional field', () => {
    expect(canonicalJson({ b: 1, a: undefined })).toBe('{"b":1}');
  });

  it('refuses what JSON cannot say exactly, instead of silently differing between parties', () => {
    for (const bad of [
      Number.NaN,
      Number.POSITIVE_INFINITY,
      10n,
      () => 1,
      Symbol('s'),
      undefined,
      [undefined],
      new Date(0),
      new Map(),
      '\uD800',
      { '\uDC00': 1 },
    ]) {
      expect(() => canonicalJson(bad), String(typeof bad)).toThrow(TypeError);
    }
  });

  it('encodes as UTF-8', () => {
    expect([...canonicalJsonBytes('€')]).toEqual([0x22, 0xe2, 0x82, 0xac, 0x22]);
  });
});
