/**
 * CPU profile of a Worker inside workerd through its inspector (the DevTools
 * protocol: Profiler.start/stop), summarised by function and by area. workerd
 * does not advance its clock during synchronous work, but the sampling
 * profiler runs on its own thread, so the shares are meaningful.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebSocket } from 'undici';
import { RAW_DIR } from './paths.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

export interface WorkerdProfile {
  samples: number;
  top: { fn: string; selfPct: number }[];
  inclusive: { fn: string; inclPct: number }[];
}

export async function profileWorkerd(inspectorPort: number, during: () => Promise<void>, match = /core:user/): Promise<WorkerdProfile> {
  const targets = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { title?: string; url?: string; webSocketDebuggerUrl?: string; id?: string }[];
  const target = targets.find((t) => match.test(`${t.title ?? ''} ${t.url ?? ''} ${t.id ?? ''}`)) ?? targets[0];
  if (!target?.webSocketDebuggerUrl) throw new Error(`no inspector target: ${JSON.stringify(targets)}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl.replace('localhost', '127.0.0.1'));
  await new Promise<void>((resolve, reject) => {
    ws.addEventListener('open', () => resolve());
    ws.addEventListener('error', (e) => reject(new Error(`inspector: ${String((e as unknown as { message?: string }).message ?? e)}`)));
  });
  let next = 1;
  const pending = new Map<number, (v: unknown) => void>();
  ws.addEventListener('message', (ev) => {
    const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown };
    if (msg.id !== undefined) pending.get(msg.id)?.(msg.result);
  });
  const send = (method: string, params: object = {}) => new Promise<unknown>((resolve) => {
    const id = next++;
    pending.set(id, resolve);
    ws.send(JSON.stringify({ id, method, params }));
  });
  await send('Profiler.enable');
  await send('Profiler.setSamplingInterval', { interval: 100 });
  await send('Profiler.start');
  await during();
  const { profile } = (await send('Profiler.stop')) as { profile: { nodes: ProfileNode[] } };
  ws.close();
  writeFileSync(join(RAW_DIR, `workerd-${Date.now()}.cpuprofile`), JSON.stringify(profile));

  const nodes = profile.nodes;
  const total = nodes.reduce((n, x) => n + (x.hitCount ?? 0), 0);
  const label = (n: ProfileNode) => {
    const url = n.callFrame.url.replace(/^.*\//, '');
    return `${n.callFrame.functionName || '(anonymous)'}${url ? ` ${url}:${n.callFrame.lineNumber + 1}` : ''}`;
  };
  const self = new Map<string, number>();
  for (const n of nodes) self.set(label(n), (self.get(label(n)) ?? 0) + (n.hitCount ?? 0));
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const incl = new Map<string, number>();
  for (const n of nodes) {
    const h = n.hitCount ?? 0;
    if (!h) continue;
    const seen = new Set<string>();
    for (let id: number | undefined = n.id; id !== undefined; id = parent.get(id)) {
      const k = `${byId.get(id)!.callFrame.functionName || '(anonymous)'}`;
      if (k === '(root)' || seen.has(k)) continue;
      seen.add(k);
      incl.set(k, (incl.get(k) ?? 0) + h);
    }
  }
  const pct = (v: number) => Math.round((1000 * v) / Math.max(1, total)) / 10;
  return {
    samples: total,
    top: [...self].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([fn, v]) => ({ fn, selfPct: pct(v) })),
    inclusive: [...incl].sort((a, b) => b[1] - a[1]).slice(0, 40).map(([fn, v]) => ({ fn, inclPct: pct(v) })),
  };
}
