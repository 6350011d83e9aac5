/**
 * Run a bundled Worker (the output of `wrangler deploy --dry-run --outdir`)
 * directly on Miniflare/workerd, without `wrangler dev` and its per-request
 * dev machinery (proxy Worker, request logging through Node): the closest this
 * machine gets to the Workers runtime as deployed. MF_OPTIONS = a JSON file of
 * Miniflare options; workerd's stdout/stderr go to MF_LOG. Prints "READY <port>".
 */
import { createWriteStream, readFileSync } from 'node:fs';
import { Miniflare, type MiniflareOptions } from 'miniflare';

const options = JSON.parse(readFileSync(process.env.MF_OPTIONS!, 'utf8')) as MiniflareOptions;
const log = createWriteStream(process.env.MF_LOG ?? '/dev/null', { flags: 'a' });
const mf = new Miniflare({
  ...options,
  handleRuntimeStdio(stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) {
    stdout.pipe(log);
    stderr.pipe(log);
  },
} as MiniflareOptions);
const url = await mf.ready;
process.stdout.write(`READY ${url.port}\n`);
const stop = () => {
  void mf.dispose().finally(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
