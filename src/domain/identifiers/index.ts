/** Identifiers of the My Number system: parse what people type, validate, format, generate. */
export * from './corporate-number.ts';
export * from './individual-number.ts';
export * from './local-government-code.ts';
export * from './random-source.ts';
export * from './resident-record-code.ts';
export { normalizeDigits } from './digit-input.ts';
