import { TollgateError, isTollgateError } from '../errors.js';

/** Run a storage call; anything that is not already a TollgateError becomes a generic 'internal' storage error (the cause is kept, never shown). */
export async function guarded<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (cause) {
    if (isTollgateError(cause)) throw cause;
    throw new TollgateError('internal', `storage error: ${what}`, { cause });
  }
}
