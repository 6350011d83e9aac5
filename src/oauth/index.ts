/**
 * Service identity at the gateway (docs/services.md): the token endpoint
 * (client credentials, token exchange), client authentication, introspection,
 * authorization-server metadata, and verification of service bearer tokens.
 * HTTP lives in src/http/oauth.ts and src/http/bearer.ts.
 */
export * from './model.js';
export { parseOAuthConfig, MAX_SERVICE_TOKEN_LIFETIME, type OAuthConfig } from './config.js';
export { oauthCodeOf, oauthError, type OAuthErrorCode } from './errors.js';
export { parseOAuthForm, readOAuthForm, MAX_FORM_BYTES, type OAuthForm } from './form.js';
export { authenticateClient, CLIENT_ASSERTION_ALGS, JWT_BEARER_ASSERTION, MAX_ASSERTION_AHEAD_SECONDS, type AuthenticatedClient } from './client-auth.js';
export { resolveTarget, type Target } from './audience.js';
export { reach, type Reach } from './reach.js';
export { actChain, verifyServiceToken, type ServicePrincipal } from './principal.js';
export {
  GRANT_CLIENT_CREDENTIALS,
  GRANT_TOKEN_EXCHANGE,
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_ASSERTION,
  TOKEN_TYPE_ID_TOKEN,
  TOKEN_TYPE_JWT,
  handleTokenRequest,
  type TokenContext,
  type TokenResponseBody,
} from './token-endpoint.js';
export { introspect, type Introspector } from './introspect.js';
export { authorizationServerMetadata } from './metadata.js';
export { CLIENT_SECRET_PREFIX, generateClientSecret, hashClientSecret, secretMatches } from './secrets.js';
export { createOAuthService, type OAuthService, type OAuthServiceOptions } from './service.js';
