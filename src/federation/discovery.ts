/**
 * OIDC discovery of an external issuer's JWKS URL, at registration (admin
 * API) — not on the hot path. The document must name exactly the configured
 * issuer, and its `jwks_uri` must pass the same URL checks.
 */
import { TollgateError } from '../errors.js';
import { fetchJson, type FetchLike } from './jwks.js';
import { urlProblem, type UrlPolicy } from './url-guard.js';

export interface DiscoveryOptions {
  fetch: FetchLike;
  urlPolicy: UrlPolicy;
  timeoutMs?: number;
}

/** `<issuer>/.well-known/openid-configuration` → its checked `jwks_uri`. */
export async function discoverJwksUri(issuer: string, options: DiscoveryOptions): Promise<string> {
  const url = `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration`;
  const doc = (await fetchJson(url, options)) as { issuer?: unknown; jwks_uri?: unknown } | null;
  if (doc === null || typeof doc !== 'object') throw new TollgateError('policy-invalid', 'the issuer’s discovery document is not a JSON object');
  if (doc.issuer !== issuer) throw new TollgateError('policy-invalid', 'the issuer’s discovery document names another issuer (compare exactly, trailing slash included)');
  if (typeof doc.jwks_uri !== 'string') throw new TollgateError('policy-invalid', 'the issuer’s discovery document has no jwks_uri');
  const problem = urlProblem(doc.jwks_uri, options.urlPolicy);
  if (problem) throw new TollgateError('policy-invalid', `the discovered jwks_uri ${problem}`);
  return doc.jwks_uri;
}
