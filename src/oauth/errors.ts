/**
 * OAuth error responses (RFC 6749 §5.2, RFC 8693 §2.2.2, RFC 7662): the
 * protocol's `error` code rides on a TollgateError (`details.oauthError`),
 * whose own code fixes the HTTP status in the one mapper (src/http/problem.ts):
 * invalid_client → 401, rate limited → 429, everything else → 400.
 */
import { TollgateError, type ErrorCode } from '../errors.js';

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'invalid_token'
  | 'temporarily_unavailable'
  | 'server_error';

export interface OAuthErrorOptions {
  /** Policy reason codes (invalid_target after a deny). */
  reasons?: string[];
  /** Seconds (429). */
  retryAfter?: number;
  cause?: unknown;
  /** Why, for the log only. */
  logReason?: string;
}

const STATUS_CODE: Partial<Record<OAuthErrorCode, ErrorCode>> = {
  invalid_client: 'unauthenticated',
  invalid_token: 'unauthenticated',
  temporarily_unavailable: 'rate-limited',
  server_error: 'internal',
};

/** A TollgateError carrying an OAuth error code. `description` is shown to the client: never a token or secret. */
export function oauthError(error: OAuthErrorCode, description: string, options: OAuthErrorOptions = {}): TollgateError {
  const details: Record<string, unknown> = { oauthError: error };
  if (options.retryAfter !== undefined) details.retryAfter = options.retryAfter;
  if (options.logReason !== undefined) details.logReason = options.logReason;
  return new TollgateError(STATUS_CODE[error] ?? 'bad-request', description, {
    ...(options.reasons ? { reasons: options.reasons } : {}),
    ...(options.cause !== undefined ? { cause: options.cause } : {}),
    details,
  });
}

export function oauthCodeOf(err: unknown): OAuthErrorCode | undefined {
  return err instanceof TollgateError && typeof err.details.oauthError === 'string' ? (err.details.oauthError as OAuthErrorCode) : undefined;
}
