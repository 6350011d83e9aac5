import { describe, expect, it } from 'vitest';
import { isLoopbackHost, urlProblem } from '../../../src/federation/url-guard.js';

const prod = { allowInsecure: 'none' as const };
const dev = { allowInsecure: 'loopback' as const };

describe('issuer / JWKS URL guard (SSRF)', () => {
  it.each([
    'https://token.actions.githubusercontent.com',
    'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0',
    'https://oidc.eks.eu-west-1.amazonaws.com/id/ABC/keys',
    'https://example.com:8443/jwks.json',
    'https://8.8.8.8/jwks',
    'https://[2606:4700:4700::1111]/jwks',
  ])('accepts the public https URL %s', (url) => {
    expect(urlProblem(url, prod)).toBeNull();
  });

  it.each([
    ['http://example.com/jwks', /https/],
    ['ftp://example.com/jwks', /https/],
    ['https://user:pw@example.com/jwks', /credentials/],
    ['https://example.com/jwks#x', /fragment/],
    ['not a url', /not a URL/],
    // loopback, in every spelling the URL parser folds into 127.0.0.1 / ::1
    ['https://127.0.0.1/jwks', /loopback/],
    ['https://127.1/jwks', /loopback/],
    ['https://2130706433/jwks', /loopback/],
    ['https://0x7f000001/jwks', /loopback/],
    ['https://0177.0.0.1/jwks', /loopback/],
    ['https://[::1]/jwks', /loopback/],
    ['https://[::ffff:127.0.0.1]/jwks', /loopback/],
    ['https://localhost/jwks', /loopback/],
    ['https://LOCALHOST./jwks', /loopback/],
    ['https://issuer.localhost/jwks', /loopback/],
    // private, link-local, metadata and other special ranges
    ['https://10.1.2.3/jwks', /private/],
    ['https://172.16.0.1/jwks', /private/],
    ['https://172.31.255.255/jwks', /private/],
    ['https://192.168.1.1/jwks', /private/],
    ['https://169.254.169.254/latest/meta-data', /private/],
    ['https://100.64.0.1/jwks', /private/],
    ['https://0.0.0.0/jwks', /private/],
    ['https://224.0.0.1/jwks', /private/],
    ['https://255.255.255.255/jwks', /private/],
    ['https://[fd00:ec2::254]/jwks', /private/],
    ['https://[fe80::1]/jwks', /private/],
    ['https://[::]/jwks', /private/],
    ['https://[::ffff:10.0.0.1]/jwks', /private/],
    ['https://[64:ff9b::a9fe:a9fe]/jwks', /private/],
    ['https://[2002:a9fe:a9fe::]/jwks', /private/],
    // names that are local by definition
    ['https://metadata.google.internal/computeMetadata/v1', /local name/],
    ['https://printer.local/jwks', /local name/],
    ['https://router.home.arpa/jwks', /local name/],
    ['https://metadata/jwks', /fully qualified/],
  ])('refuses %s', (url, why) => {
    expect(urlProblem(url, prod)).toMatch(why);
  });

  it('ALLOW_INSECURE_ISSUERS=loopback admits loopback hosts over http, and nothing private', () => {
    expect(urlProblem('http://127.0.0.1:9000/issuer', dev)).toBeNull();
    expect(urlProblem('http://localhost:9000/issuer', dev)).toBeNull();
    expect(urlProblem('https://127.0.0.1/jwks', dev)).toBeNull();
    expect(urlProblem('http://[::1]:9000/jwks', dev)).toBeNull();
    expect(urlProblem('http://10.0.0.1/jwks', dev)).toMatch(/https/);
    expect(urlProblem('https://10.0.0.1/jwks', dev)).toMatch(/private/);
    expect(urlProblem('https://169.254.169.254/', dev)).toMatch(/private/);
    expect(urlProblem('http://example.com/jwks', dev)).toMatch(/https/);
  });

  it('isLoopbackHost', () => {
    for (const h of ['127.0.0.1', '127.255.0.9', 'localhost', 'a.localhost', '[::1]', '::1']) expect(isLoopbackHost(h)).toBe(true);
    for (const h of ['10.0.0.1', 'example.com', 'localhost.example.com', '[::2]']) expect(isLoopbackHost(h)).toBe(false);
  });
});
