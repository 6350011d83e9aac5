/** Authorization server metadata (RFC 8414) at `/.well-known/oauth-authorization-server` on the gateway origin. */
import { CLIENT_ASSERTION_ALGS } from './client-auth.js';
import { CLIENT_AUTH_METHODS } from './model.js';
import { GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE, TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_ASSERTION, TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_JWT } from './token-endpoint.js';

export function authorizationServerMetadata(origin: string): Record<string, unknown> {
  return {
    issuer: origin,
    token_endpoint: `${origin}/oauth/token`,
    introspection_endpoint: `${origin}/oauth/introspect`,
    jwks_uri: `${origin}/.well-known/jwks.json`,
    // No authorization endpoint: people sign in at /auth/login; services use the grants below.
    response_types_supported: [],
    grant_types_supported: [GRANT_CLIENT_CREDENTIALS, GRANT_TOKEN_EXCHANGE],
    token_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS],
    token_endpoint_auth_signing_alg_values_supported: [...CLIENT_ASSERTION_ALGS],
    introspection_endpoint_auth_methods_supported: [...CLIENT_AUTH_METHODS, 'bearer'],
    introspection_endpoint_auth_signing_alg_values_supported: [...CLIENT_ASSERTION_ALGS],
    scopes_supported: [],
    // RFC 8693 / Tollgate extensions, for clients that read them.
    token_types_supported: [TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_JWT, TOKEN_TYPE_ID_TOKEN, TOKEN_TYPE_ASSERTION],
    tollgate_assertion_token_type: TOKEN_TYPE_ASSERTION,
    tollgate_assertion_parameters: ['htm', 'htu'],
    access_token_signing_alg_values_supported: ['EdDSA', 'ES256'],
    authorization_response_iss_parameter_supported: false,
    service_documentation: `${origin}/admin/v1/docs`,
  };
}
