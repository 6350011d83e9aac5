/**
 * Copy bench/results/latest.md (written by `npm run bench`) into the README's
 * Performance section and docs/performance.md, between the table's headline
 * ("Tollgate benchmarks — …") and its "Runs: …" line.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, REPO_ROOT } from './lib/paths.js';

const table = readFileSync(join(BENCH_DIR, 'results', 'latest.md'), 'utf8').trim();
for (const file of [join(REPO_ROOT, 'README.md'), join(REPO_ROOT, 'docs', 'performance.md')]) {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf('Tollgate benchmarks — ');
  const runs = text.indexOf('\nRuns: ', start);
  const end = text.indexOf('\n', runs + 1);
  if (start === -1 || runs === -1) throw new Error(`${file}: no results table to replace`);
  writeFileSync(file, text.slice(0, start) + table + text.slice(end === -1 ? text.length : end));
  console.log(`updated ${file}`);
}
