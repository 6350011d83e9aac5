/**
 * The demo service account (docs/services.md, README "Services"): client
 * `demo-service`, bound to the role that may use inventory. Its secret is
 * generated on the first start and reused, written with the token endpoint to
 * `<state dir>/demo-service.json` (0600, git-ignored); D1 gets only the
 * secret's SHA-256, like any service account.
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

export const DEMO_SERVICE_ID = 'demo-service';

export interface DemoService {
  file: string;
  clientId: string;
  clientSecret: string;
  tokenEndpoint: string;
}

/** Load (or create) the demo service's credentials and (re)write the file for this origin. */
export function demoServiceCredentials(file: string, origin: string, workloadUrl: string): DemoService {
  let secret: string | undefined;
  if (existsSync(file)) {
    const prior = JSON.parse(readFileSync(file, 'utf8')) as { client_id?: string; client_secret?: string };
    if (prior.client_id === DEMO_SERVICE_ID && typeof prior.client_secret === 'string' && /^tgs_[A-Za-z0-9_-]{43}$/.test(prior.client_secret)) secret = prior.client_secret;
  }
  secret ??= `tgs_${randomBytes(32).toString('base64url')}`;
  const d: DemoService = { file, clientId: DEMO_SERVICE_ID, clientSecret: secret, tokenEndpoint: `${origin}/oauth/token` };
  const body = {
    client_id: d.clientId,
    client_secret: d.clientSecret,
    token_endpoint: d.tokenEndpoint,
    issuer: origin,
    metadata: `${origin}/.well-known/oauth-authorization-server`,
    may_use: { workload: 'inventory', url: workloadUrl },
  };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return d;
}

const sql = (v: string) => `'${v.replace(/'/g, "''")}'`;

/** SQL that (re)creates the demo service account (hash only) and its binding to `roleId`. Run after the demo roles exist. */
export function demoServiceSql(d: DemoService, roleId: string): string {
  const hash = createHash('sha256').update(d.clientSecret).digest('base64url');
  const now = Math.floor(Date.now() / 1000);
  const methods = JSON.stringify(['client_secret_basic', 'client_secret_post']);
  return `-- the demo service account (scripts/lib/demo-service.ts)
INSERT INTO service_accounts (id, name, description, disabled, auth_methods, rate_limit_per_minute, secret_hash, secret_created_at, created_at, updated_at, version)
  VALUES (${sql(d.clientId)}, 'Demo service', 'Seeded by npm start: may use inventory', 0, ${sql(methods)}, NULL, ${sql(hash)}, ${now}, ${now}, ${now}, ${Date.now()})
  ON CONFLICT(id) DO UPDATE SET disabled = 0, auth_methods = excluded.auth_methods, secret_hash = excluded.secret_hash,
    previous_secret_hash = NULL, previous_secret_expires_at = NULL, updated_at = excluded.updated_at, version = excluded.version;
DELETE FROM bindings WHERE id = 'demo-service-inventory';
INSERT INTO bindings (id, subject_kind, subject, role_id, reason) VALUES ('demo-service-inventory', 'service', ${sql(d.clientId)}, ${sql(roleId)}, 'demo');
UPDATE meta SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT) WHERE key = 'policy_version';
`;
}
