/**
 * Node side of the integration suite (vitest globalSetup): the real dev IdP
 * (oidc-provider, scripts/idp) and real upstream HTTP servers on 127.0.0.1 that
 * the gateway — running inside workerd — reaches over loopback. Values the
 * workerd side needs are handed over with `provide`.
 */
import { randomBytes } from 'node:crypto';
import type { TestProject } from 'vitest/node';
import { startIdp } from '../../../scripts/idp/index.js';
import { freePort } from '../../../scripts/lib/net.js';
import { generateSigningJwk } from '../../../src/token/index.js';
import { startUpstream } from './upstream.js';
import { startFakeIssuers } from './fake-issuer.js';
import { GATEWAY_ORIGIN } from '../support/constants.js';


export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const clientSecret = randomBytes(32).toString('base64url');
  const idp = await startIdp({
    port: 0,
    host: '127.0.0.1',
    clients: [
      {
        client_id: 'tollgate',
        client_secret: clientSecret,
        redirect_uris: [`${GATEWAY_ORIGIN}/auth/callback`],
        post_logout_redirect_uris: [`${GATEWAY_ORIGIN}/auth/signed-out`],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    log: () => {},
  });
  const upstream = await startUpstream();
  // External token issuers (workload identity federation tests), on loopback.
  const issuers = await startFakeIssuers();
  // A port that nothing listens on: connection refused → 502.
  const deadPort = await freePort('127.0.0.1');

  // Two published keys: an EdDSA key that signs, and an ES256 key published ahead of rotation.
  const active = await generateSigningJwk('EdDSA', 'test-active');
  const next = await generateSigningJwk('ES256', 'test-next');
  project.provide('idpIssuer', idp.issuer);
  project.provide('clientSecret', clientSecret);
  project.provide('sessionSecret', randomBytes(32).toString('base64url'));
  project.provide('signingKeys', JSON.stringify({ keys: [next, active] }));
  project.provide('signingKid', 'test-active');
  project.provide('upstreamUrl', upstream.url);
  project.provide('deadUrl', `http://127.0.0.1:${deadPort}`);
  project.provide('issuersUrl', issuers.url);

  return async () => {
    await upstream.close();
    await issuers.close();
    await idp.close();
  };
}
