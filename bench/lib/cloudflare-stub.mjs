// Node stand-in for `cloudflare:workers`, so gateway modules that export the
// RevocationLedger Durable Object can be imported in Node by the hot-path
// benchmark. Nothing here runs on the measured path.
export class DurableObject {
  constructor(ctx, env) {
    this.ctx = ctx;
    this.env = env;
  }
}
export class WorkerEntrypoint {}
export const env = {};
