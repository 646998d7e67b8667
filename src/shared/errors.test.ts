import { describe, expect, it } from 'vitest';
import { ERROR_CODES, HTTP_STATUS, RenkeiError, isErrorCode } from './errors.ts';
import { toErrorResponse } from './http.ts';

describe('error codes', () => {
  it('maps every code to a client or server error status', () => {
    for (const code of ERROR_CODES) {
      expect(HTTP_STATUS[code]).toBeGreaterThanOrEqual(400);
      expect(HTTP_STATUS[code]).toBeLessThan(600);
    }
  });

  it('turns a RenkeiError into its status and body', () => {
    const { status, body } = toErrorResponse(new RenkeiError('ERR_UNKNOWN_CLAUSE', 'No clause 999.'), 'r1');
    expect(status).toBe(422);
    expect(body.error.code).toBe('ERR_UNKNOWN_CLAUSE');
  });

  it('hides an unexpected error behind a generic 500 with the request id', () => {
    const { status, body } = toErrorResponse(new Error('secret detail 123456789018'), 'req-42');
    expect(status).toBe(500);
    expect(body.error.message).not.toContain('123456789018');
    expect(body.error.details).toEqual({ requestId: 'req-42' });
  });

  it('recognises only known codes', () => {
    expect(isErrorCode('ERR_INTERNAL')).toBe(true);
    expect(isErrorCode('ERR_NOPE')).toBe(false);
  });
});
