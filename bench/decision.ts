/**
 * Bench 1 — decision cost at scale: src/policy `evaluate` vs Cedar
 * (`@cedar-policy/cedar-wasm`, policies parsed once with `preparsePolicySet`,
 * decided with `statefulIsAuthorized`) on an equivalent policy set, at 10, 100,
 * 1,000 and 10,000 bindings (1,000 roles, 200 workloads, 21 deny rules).
 * In-process, warm, many iterations; µs per decision = median of samples over
 * the same 64 probe requests. Goal: ≤ 5 µs and ≥ 10× faster than Cedar.
 */
import { createRequire } from 'node:module';
import { compile, evaluate } from '../src/policy/index.js';
import { cedarPolicies, cedarRequest, documentAt, generate, PROBE_BINDINGS } from './lib/policy-fixture.js';
import { emit, machine, round, timeSync, type BenchResult, type Row } from './lib/measure.js';

type Cedar = typeof import('@cedar-policy/cedar-wasm/nodejs');
const cedar = createRequire(import.meta.url)('@cedar-policy/cedar-wasm/nodejs') as Cedar;

const SCALES = [10, 100, 1000, 10_000];

/** Cedar's own floor: one trivial policy, an empty entity list — the cost of a call, whatever the policies. */
function cedarFloorUs(): number {
  cedar.preparsePolicySet('floor', { staticPolicies: 'permit (principal == User::"a", action == Action::"GET", resource == Workload::"w");' });
  const call = { principal: { type: 'User', id: 'a' }, action: { type: 'Action', id: 'GET' }, resource: { type: 'Workload', id: 'w' }, context: {}, entities: [], preparsedPolicySetId: 'floor' };
  return timeSync(() => void cedar.statefulIsAuthorized(call), 1, { warmupMs: 1000, sampleMs: 200, samples: 3 }).nsPerOp / 1000;
}
const started = Date.now();
const fixture = generate();
const rows: Row[] = [];
const facts: Record<string, unknown> = {
  cedarVersion: cedar.getCedarVersion(),
  roles: fixture.roles.length,
  grants: fixture.roles.reduce((n, r) => n + r.grants.length, 0),
  workloads: fixture.workloads.length,
  denyRules: fixture.denyRules.length,
  probes: fixture.probes.length,
  probeBindings: PROBE_BINDINGS,
  scales: {} as Record<string, unknown>,
};
let sink = 0;

for (const n of SCALES) {
  const doc = documentAt(fixture, n);
  const snapshot = compile(doc, { version: `bench-${n}`, workloads: fixture.workloads });
  const { text, policies } = cedarPolicies(fixture, n);
  const id = `tollgate-${n}`;
  const parsed = cedar.preparsePolicySet(id, { staticPolicies: text });
  if (parsed.type !== 'success') throw new Error(`cedar parse failed: ${JSON.stringify(parsed.errors.slice(0, 3))}`);
  const requests = fixture.probes.map((p) => {
    const r = cedarRequest(fixture, n, p);
    return { principal: r.principal, action: r.action, resource: r.resource, context: r.context, entities: r.entities, preparsedPolicySetId: id } as Parameters<Cedar['statefulIsAuthorized']>[0];
  });

  // Agreement: both engines must reach the same effect on every probe.
  let allow = 0;
  const disagree: string[] = [];
  fixture.probes.forEach((p, i) => {
    const t = evaluate(snapshot, p);
    const c = cedar.statefulIsAuthorized(requests[i]!);
    if (c.type !== 'success') throw new Error(`cedar failed: ${JSON.stringify(c.errors)}`);
    if (t.effect === 'allow') allow++;
    if (t.effect !== c.response.decision) disagree.push(`#${i} tollgate=${t.effect}(${t.reasons.join(',')}) cedar=${c.response.decision} ${p.request.method} ${p.request.workload}${p.request.path}`);
  });

  const probes = fixture.probes;
  const tg = timeSync(() => {
    for (let i = 0; i < probes.length; i++) sink += evaluate(snapshot, probes[i]!).roles.length;
  }, probes.length, { warmupMs: 300, sampleMs: 300, samples: 5 });
  const cd = timeSync(() => {
    for (let i = 0; i < requests.length; i++) {
      const a = cedar.statefulIsAuthorized(requests[i]!);
      if (a.type === 'success' && a.response.decision === 'allow') sink++;
    }
  }, requests.length, { warmupMs: 1000, sampleMs: 300, samples: 3 });

  const tUs = tg.nsPerOp / 1000;
  const cUs = cd.nsPerOp / 1000;
  (facts.scales as Record<string, unknown>)[n] = {
    cedarPolicies: policies,
    allowed: allow,
    denied: probes.length - allow,
    disagreements: disagree.length,
    ...(disagree.length ? { disagreeExamples: disagree.slice(0, 5) } : {}),
    tollgateUsSamples: tg.samples.map((x) => round(x / 1000, 3)),
    cedarUsSamples: cd.samples.map((x) => round(x / 1000, 2)),
  };
  rows.push({
    bench: 'decision',
    name: `evaluate, ${n.toLocaleString('en-US')} bindings`,
    value: round(tUs, 2),
    unit: 'µs',
    baselineName: `Cedar ${facts.cedarVersion} (${policies} policies)`,
    baseline: round(cUs, 1),
    ratio: round(cUs / tUs, 1),
    goal: '≤ 5 µs, ≥ 10x faster',
    met: tUs <= 5 && cUs / tUs >= 10,
    note: `ratio = Cedar ÷ Tollgate; agreement ${probes.length - disagree.length}/${probes.length}`,
  });
  process.stderr.write(`decision: ${n} bindings: tollgate ${tUs.toFixed(2)} µs, cedar ${cUs.toFixed(1)} µs (${policies} policies), agree ${probes.length - disagree.length}/${probes.length}, allow ${allow}\n`);
  for (const d of disagree.slice(0, 3)) process.stderr.write(`  disagree: ${d}\n`);
}
facts.cedarMinimalCallUs = round(cedarFloorUs(), 1);
process.stderr.write(`decision: Cedar minimal call (1 policy, no entities): ${facts.cedarMinimalCallUs} µs\n`);
const first = rows[0]!.value;
const last = rows[rows.length - 1]!.value;
facts.growth10to10000 = round(last / first, 2);
facts.sink = sink;

const result: BenchResult = {
  bench: 'decision',
  title: 'Decision cost at scale (src/policy vs Cedar, in-process)',
  startedAt: new Date(started).toISOString(),
  seconds: round((Date.now() - started) / 1000, 1),
  rows,
  facts: { ...facts, machine: machine() },
};
emit(result);
