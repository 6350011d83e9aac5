/** The callers' view of the ClientLimiter Durable Object (one object per client id). */
import { sha256b64url } from '../auth/digest.js';
import { TollgateError } from '../errors.js';
import type { ClientLimiter } from './limiter.js';
import type { ClientLimiterClient } from './ports.js';

export type { ClientLimiterClient } from './ports.js';

export function limiterClient(namespace: DurableObjectNamespace<ClientLimiter>): ClientLimiterClient {
  const stub = (clientId: string) => namespace.get(namespace.idFromName(`client:${clientId}`));
  return {
    async take(clientId, limit, periodSeconds = 60) {
      try {
        return await stub(clientId).take('token', limit, periodSeconds);
      } catch (cause) {
        throw new TollgateError('internal', 'rate limiter unavailable', { cause });
      }
    },
    async useOnce(clientId, id, until) {
      try {
        // Hashed: the id is the client's choice, the object's keys are not.
        return (await stub(clientId).useOnce(`jti:${await sha256b64url(id)}`, until)) === true;
      } catch (cause) {
        throw new TollgateError('internal', 'replay check unavailable', { cause });
      }
    },
  };
}
