import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_ROOT = resolve(BENCH_DIR, '..');
/** Where raw outputs go (git-ignored); the runner passes BENCH_RAW_DIR. */
export const RAW_DIR = process.env.BENCH_RAW_DIR ?? join(BENCH_DIR, 'results', 'raw');
