/** The suite's catalog and policy, written through the store port and published like an admin write. */
import type { Store } from '../../../src/store/index.js';
import { BILLING, DOWN, EMPTY, INVENTORY, REPLICAS } from './constants.js';

export async function seed(store: Store, urls: { upstream: string; dead: string }): Promise<string> {
  const w = store.configWriter;
  const endpoint = (id: string, url: string) => ({ id, url, location: 'onprem', source: 'static' as const, health: 'unknown' as const });
  await w.putWorkload({ id: 'inventory', name: 'Inventory', hosts: [INVENTORY], endpoints: [endpoint('inventory-1', urls.upstream)] });
  await w.putWorkload({ id: 'billing', name: 'Billing', hosts: [BILLING], endpoints: [endpoint('billing-1', urls.upstream)] });
  await w.putWorkload({ id: 'down', name: 'Down', hosts: [DOWN], endpoints: [endpoint('down-1', urls.dead)] });
  await w.putWorkload({
    id: 'empty',
    name: 'No endpoints',
    hosts: [EMPTY],
    endpoints: [{ ...endpoint('empty-1', urls.upstream), health: 'unhealthy' }],
  });
  await w.putWorkload({
    id: 'replicas',
    name: 'Replicas',
    hosts: [REPLICAS],
    endpoints: [{ ...endpoint('replicas-1', urls.dead), health: 'healthy' }, endpoint('replicas-2', urls.upstream)],
  });
  const all = (id: string, workload: string) => ({ id, workload, methods: ['*'], paths: ['/**'] });
  await w.putRole({ id: 'inventory-user', description: 'Inventory', grants: [all('all', 'inventory')], permissions: [] });
  await w.putRole({ id: 'billing-user', description: 'Billing', grants: [all('all', 'billing')], permissions: [] });
  await w.putRole({ id: 'down-user', description: 'Down', grants: [all('all', 'down'), all('empty', 'empty'), all('replicas', 'replicas')], permissions: [] });
  await w.putBinding({ id: 'eng-inventory', subject: { kind: 'group', value: 'engineering' }, roleId: 'inventory-user' });
  await w.putBinding({ id: 'eng-down', subject: { kind: 'group', value: 'engineering' }, roleId: 'down-user' });
  await w.putBinding({ id: 'admins-billing', subject: { kind: 'group', value: 'admins' }, roleId: 'billing-user' });
  await w.putDenyRule({
    id: 'no-forbidden',
    subjects: { everyone: true },
    workload: 'inventory',
    paths: ['/forbidden/**'],
    reason: 'test',
  });
  const version = await w.bumpVersion();
  await store.version.publish(version);
  return version;
}
