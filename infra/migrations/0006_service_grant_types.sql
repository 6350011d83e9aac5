-- Service accounts: the grant types a client may use (RFC 7591 `grant_types`),
-- a JSON array; NULL = both (client_credentials and token exchange). A grant
-- outside the list is `unauthorized_client` (docs/services.md).
ALTER TABLE service_accounts ADD COLUMN grant_types TEXT;
