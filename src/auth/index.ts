/** Sign-in (OIDC), sessions on top of the cookie codec, return-URL checks and hand-off helpers. */
export {
  buildSignInRequest,
  configurationFromMetadata,
  createOidcClient,
  identityFromClaims,
  newTransaction,
  oidcErrorCode,
  scopeFor,
  type FetchLike,
  type Identity,
  type OidcClient,
  type OidcClientOptions,
  type OidcSettings,
  type SignInTransaction,
} from './oidc.js';
export {
  createSessionManager,
  type RefusalReason,
  type SessionManager,
  type SessionManagerOptions,
  type SessionRead,
} from './sessions.js';
export { safeReturnPath, sameOriginReturnUrl } from './return-url.js';
export { B64URL_256, sha256b64url, timingSafeEqual } from './digest.js';
