import { isErrorCode, type ErrorCode } from '../../shared/errors.ts';
import type { RefusalRule } from './types.ts';

/** The error code a refusal by the legal table answers with, where it is not the general one. */
export const RULE_CODES: Partial<Record<RefusalRule, ErrorCode>> = {
  unknown_clause: 'ERR_UNKNOWN_CLAUSE',
  unknown_procedure: 'ERR_UNKNOWN_PROCEDURE',
  unknown_item: 'ERR_UNKNOWN_ITEM',
  no_items: 'ERR_VALIDATION',
};

/**
 * The error code of a refusal recorded with `reason`: an error code itself, or a rule of the legal
 * table (then its code, or ERR_INQUIRY_NOT_AUTHORIZED). The core answers a single inquiry's refusal
 * with it; a requester answers its clerk with it for a member of a batch the core refused.
 */
export function refusalCode(reason: string): ErrorCode {
  if (isErrorCode(reason)) return reason;
  return RULE_CODES[reason as RefusalRule] ?? 'ERR_INQUIRY_NOT_AUTHORIZED';
}
