/** Service accounts: the OAuth clients of the token endpoint (docs/services.md). */
import type { JWK } from 'jose';

export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
export const CLIENT_AUTH_METHODS: readonly ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'];

/** Grant types a service account may use (RFC 7591 `grant_types`). */
export type ServiceGrantType = 'client_credentials' | 'urn:ietf:params:oauth:grant-type:token-exchange';
export const SERVICE_GRANT_TYPES: readonly ServiceGrantType[] = ['client_credentials', 'urn:ietf:params:oauth:grant-type:token-exchange'];

export interface ServiceAccount {
  /** The `client_id`; the principal is `service:<id>` and policy bindings of kind `service` name this id. */
  id: string;
  name: string;
  description: string;
  /** A disabled account cannot authenticate, and its tokens are refused (RevocationLedger). */
  disabled: boolean;
  /** Epoch seconds: the account stops authenticating then; tokens never outlive it. */
  expiresAt?: number;
  /** Client authentication methods this account may use. */
  authMethods: ClientAuthMethod[];
  /** Grant types this account may use (default: both); another grant is `unauthorized_client`. */
  grantTypes?: ServiceGrantType[];
  /** Registered public keys for `private_key_jwt`. */
  jwks?: { keys: JWK[] };
  /** Token requests per minute (overrides TOKEN_RATE_LIMIT_PER_MINUTE). */
  rateLimitPerMinute?: number;
  /** base64url(SHA-256(secret)); the secret itself is never stored. */
  secretHash?: string;
  secretCreatedAt?: number;
  /** The secret before the last rotation, accepted until `previousSecretExpiresAt`. */
  previousSecretHash?: string;
  previousSecretExpiresAt?: number;
  createdAt: number;
  updatedAt: number;
  /** ETag: grows with every write (clock ms), never reused for the id. */
  version: number;
}

/** `service:<id>` */
export function servicePrincipal(id: string): string {
  return `service:${id}`;
}

/** Service ids and client ids: as admin ids (letters, digits, . _ ~ -), 1-128 characters. */
export const SERVICE_ID = /^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$/;
