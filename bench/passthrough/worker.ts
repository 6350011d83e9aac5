/**
 * The baseline Worker for the end-to-end and bundle benchmarks: forwards every
 * request to UPSTREAM (an origin) unchanged, streaming both bodies — no
 * session, no decision, no assertion. What any Worker in front of an app costs.
 */
interface PassEnv {
  UPSTREAM: string;
}

export default {
  async fetch(request: Request, env: PassEnv): Promise<Response> {
    const url = new URL(request.url);
    const target = `${env.UPSTREAM}${url.pathname}${url.search}`;
    const headers = new Headers(request.headers);
    headers.delete('host');
    const init: RequestInit = { method: request.method, headers, redirect: 'manual' };
    if (request.method !== 'GET' && request.method !== 'HEAD') init.body = request.body;
    const upstream = await fetch(target, init);
    return new Response(upstream.body, upstream);
  },
};
