/** The AdminStore conformance suite against D1 and memory, inside workerd. */
import { env } from 'cloudflare:workers';
import { createD1AdminStore, createD1Store } from '../../src/store/index.js';
import { adminStoreConformance, memoryAdminHarness } from './support/admin-store-conformance.js';

adminStoreConformance('d1', async () => ({
  store: createD1AdminStore({ DB: env.DB }),
  addSession: (s) => createD1Store({ DB: env.DB, CONFIG: env.CONFIG }).sessions.create(s),
  records: async () =>
    (await env.DB.prepare(`SELECT kind, subject, request_id, data FROM audit WHERE kind IN ('change', 'revocation') ORDER BY id`).all()).results.map((r) => {
      const d = JSON.parse(String(r.data)) as { action: string; resource: string; id: string };
      return { kind: String(r.kind), subject: String(r.subject), requestId: String(r.request_id), action: d.action, resource: d.resource, id: d.id };
    }),
}));

adminStoreConformance('memory', memoryAdminHarness);
