/**
 * The one shape of every error answer of every node (`ErrorBody` in shared/errors.ts), as a schema: the
 * OpenAPI documents name it for every 4XX and 5XX response, and an inquiry set's member that got an
 * error carries its `error` part (`InquiryFailure`).
 */
import { z } from 'zod';
import { ERROR_CODES, type ErrorCode, type ErrorBody as ErrorBodyShape } from '../shared/errors.ts';

export const ErrorObject = z.object({
  code: z
    .enum(ERROR_CODES as [ErrorCode, ...ErrorCode[]])
    .describe('The stable error code: the contract, on which clients branch. Each maps to one status.'),
  message: z.string().describe('For people; never contains an identifier or personal data.'),
  details: z.record(z.string(), z.unknown()).describe('Typed details, per code.'),
});

export const ErrorBody = z.object({ error: ErrorObject });

// One shape, two declarations (the interface is below the protocol layer): the compiler checks they agree.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const _sameErrorBody: Same<z.infer<typeof ErrorBody>, ErrorBodyShape> = true;
