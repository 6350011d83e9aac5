/**
 * One error type for the whole gateway. `code` is a closed union; `http/` maps
 * codes to statuses in one place. `message` must be safe to show: it never
 * contains a token, cookie value, secret or authorization code.
 */
export type ErrorCode =
  | 'bad-request'
  | 'unauthenticated'
  | 'forbidden'
  | 'not-found'
  | 'method-not-allowed'
  | 'conflict'
  | 'payload-too-large'
  | 'unsupported-media-type'
  | 'policy-invalid'
  | 'precondition-required'
  | 'precondition-failed'
  | 'rate-limited'
  | 'upstream-unreachable'
  | 'upstream-timeout'
  | 'config-invalid'
  | 'internal';

export interface TollgateErrorOptions {
  cause?: unknown;
  /** Kebab-case reason codes shown to the client (policy denials). */
  reasons?: string[];
  /** Extra, non-secret fields for the problem document. */
  details?: Record<string, unknown>;
}

export class TollgateError extends Error {
  override readonly name = 'TollgateError';
  readonly code: ErrorCode;
  readonly reasons: string[];
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: TollgateErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.reasons = options.reasons ?? [];
    this.details = options.details ?? {};
  }
}

export function isTollgateError(value: unknown): value is TollgateError {
  return value instanceof TollgateError;
}
