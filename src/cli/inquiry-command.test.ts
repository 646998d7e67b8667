/**
 * What `renkei inquiry send` tells a person when the node refuses or cannot settle the inquiry: the
 * request id to send an inquiry in doubt again with (unless they gave one), the processing number a
 * refusal was recorded under. The whole command runs on the demo network in test/inquiry-command.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { RenkeiError } from '../shared/errors.ts';
import { explained } from './inquiry-command.ts';

const REQUEST_ID = '0197a9b4-1c2d-7e3f-8a4b-5c6d7e8f9a0b';

describe('renkei inquiry’s errors', () => {
  it('gives the request id of an inquiry in doubt, to send it again with', () => {
    const doubt = new RenkeiError(
      'ERR_UPSTREAM_UNAVAILABLE',
      'The core did not say whether it took the inquiry.',
      {
        requestId: REQUEST_ID,
        queued: true,
        peer: 'core',
      },
    );
    const told = explained(doubt, undefined) as RenkeiError;
    expect(told.code).toBe('ERR_UPSTREAM_UNAVAILABLE');
    expect(told.message).toContain(`Run the same command again with --request-id ${REQUEST_ID}`);
    // Given one already, the same command is the one to run again.
    const again = explained(doubt, REQUEST_ID) as RenkeiError;
    expect(again.message).toContain('Run the same command again to learn its processing number.');
    expect(again.message).not.toContain('--request-id');
  });

  it('names the processing number and rule of a refusal, and leaves other errors as they are', () => {
    const refusal = new RenkeiError('ERR_INQUIRY_NOT_AUTHORIZED', 'Not allowed.', {
      processingNumber: REQUEST_ID,
      rule: 'item_not_in_procedure',
    });
    expect((explained(refusal, undefined) as RenkeiError).message).toBe(
      `Not allowed. (recorded as processing number ${REQUEST_ID}, rule item_not_in_procedure)`,
    );
    const other = new RenkeiError('ERR_UNKNOWN_ADDRESSEE_NUMBER', 'No such person.');
    expect(explained(other, undefined)).toBe(other);
  });
});
