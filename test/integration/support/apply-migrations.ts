/** Runs in workerd before each test file: schema (infra/migrations) and the suite's seed data. */
import { applyD1Migrations } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { createD1Store } from '../../../src/store/index.js';
import { seed } from './seed.js';

await applyD1Migrations(env.DB, env.TEST_MIGRATIONS);
await seed(createD1Store({ DB: env.DB, CONFIG: env.CONFIG }), { upstream: env.TEST_UPSTREAM_URL, dead: env.TEST_DEAD_URL });
