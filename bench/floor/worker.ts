/**
 * The crypto floor as a Worker, for bench/e2e.ts: the pass-through Worker
 * (bench/passthrough) plus, per request, exactly the cryptography the gateway
 * cannot avoid on its hot path — one AES-256-GCM decryption of a
 * session-cookie-sized ciphertext and one Ed25519 signature over an
 * assertion-sized input — and nothing else: no session model, no decision,
 * no audit, no logging. Its CPU per request inside workerd is the floor the
 * gateway is compared with in the runtime it ships in (issue 3, goal 1).
 */
interface FloorEnv {
  UPSTREAM: string;
}

interface FloorKeys {
  aes: CryptoKey;
  iv: Uint8Array<ArrayBuffer>;
  sealed: ArrayBuffer;
  ed: CryptoKey;
}

// A session cookie's plaintext is ~420 bytes (claims + envelope); an assertion's signing input ~450.
const COOKIE_PLAINTEXT = new TextEncoder().encode(JSON.stringify({ pur: 'session', exp: 0, v: 'x'.repeat(380) }));
const SIGNING_INPUT = 'e'.repeat(450);
let keys: Promise<FloorKeys> | undefined;

async function setup(): Promise<FloorKeys> {
  const aes = await crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt({ name: 'AES-GCM', iv }, aes, COOKIE_PLAINTEXT);
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, false, ['sign', 'verify'])) as CryptoKeyPair;
  return { aes, iv, sealed, ed: pair.privateKey };
}

export default {
  async fetch(request: Request, env: FloorEnv): Promise<Response> {
    const k = await (keys ??= setup());
    const plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv: k.iv }, k.aes, k.sealed);
    const signature = await crypto.subtle.sign({ name: 'Ed25519' }, k.ed, new TextEncoder().encode(SIGNING_INPUT + plain.byteLength));
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.delete('host');
    headers.set('x-floor-signature-bytes', String(signature.byteLength));
    const init: RequestInit = { method: request.method, headers, redirect: 'manual' };
    if (request.method !== 'GET' && request.method !== 'HEAD') init.body = request.body;
    const upstream = await fetch(`${env.UPSTREAM}${url.pathname}${url.search}`, init);
    return new Response(upstream.body, upstream);
  },
};
