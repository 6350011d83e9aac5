import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TollgateError } from '../../../src/errors.js';
import { configProblems, parseGuardEnv, parseUpstream } from '../../../src/guard/node/index.js';
import { jwksOf, makeKey, send, startApp, startJwks, type JwksServer, type TestApp } from './helpers.js';

const valid = {
  TOLLGATE_ISSUER: 'http://127.0.0.1:8787',
  TOLLGATE_AUDIENCE: 'inventory',
  TOLLGATE_UPSTREAM: 'http://127.0.0.1:8080',
};

describe('parseGuardEnv', () => {
  it('applies the defaults', () => {
    expect(parseGuardEnv(valid)).toEqual({
      issuer: 'http://127.0.0.1:8787',
      jwksUrl: 'http://127.0.0.1:8787/.well-known/jwks.json',
      audience: 'inventory',
      upstream: 'http://127.0.0.1:8080',
      port: 8443,
      host: '0.0.0.0',
    });
  });

  it('reads every variable', () => {
    expect(
      parseGuardEnv({
        ...valid,
        TOLLGATE_ISSUER: 'https://gw.example/',
        TOLLGATE_JWKS_URL: 'http://127.0.0.1:8787/keys',
        TOLLGATE_UPSTREAM: 'unix:/run/app.sock',
        PORT: '9000',
        HOST: '127.0.0.1',
        TOLLGATE_ENDPOINT_ID: 'inventory-eu-1',
        TOLLGATE_REPLAY_CACHE_MAX_ENTRIES: '5000',
      }),
    ).toEqual({
      issuer: 'https://gw.example/',
      jwksUrl: 'http://127.0.0.1:8787/keys',
      audience: 'inventory',
      upstream: 'unix:/run/app.sock',
      port: 9000,
      host: '127.0.0.1',
      endpointId: 'inventory-eu-1',
      replayCacheMaxEntries: 5000,
    });
  });

  it('derives the JWKS URL without a double slash and keeps the issuer exact', () => {
    const c = parseGuardEnv({ ...valid, TOLLGATE_ISSUER: 'https://gw.example/' });
    expect(c.jwksUrl).toBe('https://gw.example/.well-known/jwks.json');
    expect(c.issuer).toBe('https://gw.example/');
  });

  it.each([
    [{}, ['TOLLGATE_ISSUER', 'TOLLGATE_AUDIENCE', 'TOLLGATE_UPSTREAM']],
    [{ ...valid, TOLLGATE_ISSUER: 'not a url' }, ['TOLLGATE_ISSUER']],
    [{ ...valid, TOLLGATE_JWKS_URL: 'file:///etc/passwd' }, ['TOLLGATE_JWKS_URL']],
    [{ ...valid, TOLLGATE_UPSTREAM: 'https://127.0.0.1:8080' }, ['TOLLGATE_UPSTREAM']],
    [{ ...valid, TOLLGATE_UPSTREAM: 'http://127.0.0.1:8080/base' }, ['TOLLGATE_UPSTREAM']],
    [{ ...valid, TOLLGATE_UPSTREAM: 'unix:relative.sock' }, ['TOLLGATE_UPSTREAM']],
    [{ ...valid, PORT: '70000' }, ['PORT']],
    [{ ...valid, PORT: '80a' }, ['PORT']],
    [{ ...valid, TOLLGATE_REPLAY_CACHE_MAX_ENTRIES: '0' }, ['TOLLGATE_REPLAY_CACHE_MAX_ENTRIES']],
  ])('rejects %j naming every bad variable', (env, names) => {
    try {
      parseGuardEnv(env as Record<string, string>);
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TollgateError);
      expect((err as TollgateError).code).toBe('config-invalid');
      const problems = configProblems(err)!;
      expect(problems).toHaveLength(names.length);
      names.forEach((n, i) => expect(problems[i]).toContain(n));
    }
  });

  it('parses upstreams', () => {
    expect(parseUpstream('http://127.0.0.1:8080')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 8080 });
    expect(parseUpstream('http://[::1]:8080/')).toEqual({ kind: 'tcp', host: '::1', port: 8080 });
    expect(parseUpstream('http://localhost')).toEqual({ kind: 'tcp', host: 'localhost', port: 80 });
    expect(parseUpstream('unix:/tmp/a.sock')).toEqual({ kind: 'unix', socketPath: '/tmp/a.sock' });
    expect(typeof parseUpstream('http://u:p@127.0.0.1:1')).toBe('string');
  });
});

describe('npm run guard (functions/guard.ts)', () => {
  const root = path.resolve(import.meta.dirname, '../../..');
  const tsx = path.join(root, 'node_modules/.bin/tsx');
  let jwks: JwksServer;
  let app: TestApp;

  beforeAll(async () => {
    jwks = await startJwks(jwksOf(await makeKey('EdDSA', 'k')));
    app = await startApp();
  });
  afterAll(async () => {
    await app.close();
    await jwks.close();
  });

  it('exits non-zero with a clear message on bad configuration', async () => {
    const child = spawn(tsx, ['functions/guard.ts'], { cwd: root, env: { PATH: process.env.PATH, TOLLGATE_AUDIENCE: 'x' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    const [code] = await once(child, 'exit');
    expect(code).not.toBe(0);
    const line = JSON.parse(stderr.trim().split('\n').at(-1)!);
    expect(line.event).toBe('guard.config_invalid');
    expect(line.problems.join(' ')).toContain('TOLLGATE_ISSUER is required');
    expect(line.problems.join(' ')).toContain('TOLLGATE_UPSTREAM is required');
  });

  it('starts, logs guard.listening with the port, serves healthz, stops on SIGTERM', async () => {
    const child = spawn(tsx, ['functions/guard.ts'], {
      cwd: root,
      env: {
        PATH: process.env.PATH,
        TOLLGATE_ISSUER: 'http://127.0.0.1:8787',
        TOLLGATE_JWKS_URL: jwks.url,
        TOLLGATE_AUDIENCE: 'inventory',
        TOLLGATE_UPSTREAM: app.upstream,
        PORT: '0',
        HOST: '127.0.0.1',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    const listening = new Promise<{ event: string; port: number }>((resolve) => {
      child.stdout.on('data', (c: Buffer) => {
        stdout += c;
        const line = stdout.split('\n').find((l) => l.includes('"guard.listening"'));
        if (line) resolve(JSON.parse(line));
      });
    });
    const line = await listening;
    expect(Object.keys(line)).toEqual(['event', 'port']);
    expect(line.port).toBeGreaterThan(0);
    expect((await send(line.port, { path: '/.tollgate/healthz' })).status).toBe(200);
    expect((await send(line.port, { path: '/x' })).status).toBe(401);
    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
  });
});
