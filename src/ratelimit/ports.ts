/** The callers' view of per-client limits (types only, runtime-neutral). */

export type TakeResult = { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number };

export interface ClientLimiterClient {
  /** Spend one of `limit` requests per `periodSeconds` for `clientId`. Throws TollgateError('internal') when the limiter cannot be asked. */
  take(clientId: string, limit: number, periodSeconds?: number): Promise<TakeResult>;
  /** Single use of `id` (an assertion jti) for `clientId` until `untilEpochSeconds`. */
  useOnce(clientId: string, id: string, untilEpochSeconds: number): Promise<boolean>;
}
