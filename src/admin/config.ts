/**
 * Configuration use-cases of the admin API: validated input → checked against
 * the whole policy (`compile()` and the catalog rules) → one atomic store
 * commit with its audit record → the new version published to KV.
 *
 * Every write goes through `write()`: read the state (with versions) →
 * `plan(state)` (the caller's ops and audit records; it throws 404 / 412 /
 * 409 itself) → validate the resulting configuration → commit gated on the
 * state's version. When another write moved the version in between, the
 * whole thing runs again on the new state (the plan re-checks If-Match, so a
 * really stale write ends in 412), at most `MAX_ATTEMPTS` times.
 */
import { compileCatalog, endpointOrigin, isAuthority, type Workload } from '../catalog/index.js';
import { TollgateError, isTollgateError } from '../errors.js';
import { compile, type PolicyDocument } from '../policy/index.js';
import type { Logger } from '../platform/index.js';
// Ports only (runtime-neutral): the store index also carries the D1 adapter.
import type { AdminStore, BindingFilter, ChangeRecord, ConfigKind, ConfigKinds, ConfigOp, ConfigState, Page, PageRequest, Versioned } from '../store/admin-ports.js';
import type { VersionStore } from '../store/ports.js';
import { snakeCase, toWire } from './wire.js';

const MAX_ATTEMPTS = 5;

/** Who is acting, for the audit record. */
export interface Actor {
  subject: string;
  via: 'session' | 'token';
}

/** Per request: who, which request, when (epoch seconds). */
export interface AdminRequest {
  actor: Actor;
  requestId: string;
  now: number;
}

export interface ConfigServiceOptions {
  store: AdminStore;
  versions: Pick<VersionStore, 'publish'>;
  logger: Logger;
  /** The gateway's own authority: never a workload host. */
  originAuthority: string;
  assertionTtlSeconds: number;
}

/** What a plan returns: the ops, their audit records, and a value for the caller. */
export interface WritePlan<R> {
  ops: ConfigOp[];
  audit: ChangeRecord[];
  result: R;
}

/** A validation failure located in the request body (RFC 9457 `errors` member). */
export interface FieldError {
  in: 'body' | 'query' | 'path' | 'header';
  /** JSON Pointer into that part of the request, e.g. `/grants/0/paths/1`. */
  pointer: string;
  detail: string;
}

const SECTION: Record<ConfigKind, 'roles' | 'bindings' | 'denyRules' | 'workloads'> = {
  role: 'roles',
  binding: 'bindings',
  'deny-rule': 'denyRules',
  workload: 'workloads',
};

const NAMES: Record<ConfigKind, string> = { role: 'role', binding: 'binding', 'deny-rule': 'deny rule', workload: 'workload' };

/** `roles[2].grants[0].paths[1]` → ['roles', 2, 'grants', 0, 'paths', 1]. */
function parsePath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

function pointerOf(parts: (string | number)[]): string {
  return parts.map((p) => `/${typeof p === 'number' ? p : snakeCase(p).replace(/~/g, '~0').replace(/\//g, '~1')}`).join('');
}

/** Apply ops to a state (in memory) → the configuration they would produce. */
export function applyOps(state: ConfigState, ops: ConfigOp[]): ConfigState {
  const next: ConfigState = {
    version: state.version,
    roles: [...state.roles],
    bindings: [...state.bindings],
    denyRules: [...state.denyRules],
    workloads: [...state.workloads],
  };
  for (const op of ops) {
    const section = SECTION[op.kind];
    const list = next[section] as Versioned<{ id: string }>[];
    const id = op.type === 'delete' ? op.id : op.value.id;
    const at = list.findIndex((v) => v.value.id === id);
    if (op.type === 'delete') {
      if (at >= 0) list.splice(at, 1);
    } else {
      const entry = { value: op.value, version: Number(state.version) + 1 };
      // A changed or new resource goes last, so a compile() error path that points at it is easy to spot.
      if (at >= 0) list.splice(at, 1);
      list.push(entry);
    }
  }
  return next;
}

export interface ConfigService {
  /** One consistent read of the whole configuration with versions (dry runs, exports). */
  state(): Promise<ConfigState>;
  list<K extends ConfigKind>(kind: K, page: PageRequest, filter?: K extends 'binding' ? BindingFilter : never): Promise<Page<Versioned<ConfigKinds[K]>>>;
  /** 404 when absent. */
  get<K extends ConfigKind>(kind: K, id: string): Promise<Versioned<ConfigKinds[K]>>;
  /** 409 when the id is taken; 422 when the policy would not compile. */
  create<K extends ConfigKind>(kind: K, value: ConfigKinds[K], req: AdminRequest): Promise<Versioned<ConfigKinds[K]>>;
  /** 404 absent, 412 when the current version is not among `ifMatch`, 422 invalid. */
  update<K extends ConfigKind>(kind: K, value: ConfigKinds[K], ifMatch: readonly number[], req: AdminRequest): Promise<Versioned<ConfigKinds[K]>>;
  /** 404 absent, 412 stale, 409 when something still depends on it. */
  remove(kind: ConfigKind, id: string, ifMatch: readonly number[], req: AdminRequest): Promise<void>;
  /**
   * The general write (e.g. a whole-policy import): `plan` sees the current
   * state and returns ops + audit records; the result is validated and
   * committed atomically, or nothing happens. `plan` may run more than once.
   */
  write<R>(req: AdminRequest, plan: (state: ConfigState) => WritePlan<R>): Promise<{ version: string; result: R }>;
  /** Throws 422 (`policy-invalid`, with `errors`) or 409 when `state` is not a valid configuration. `changed` locates body errors. */
  validate(state: ConfigState, changed?: { kind: ConfigKind; id: string }): void;
}

function find<K extends ConfigKind>(state: ConfigState, kind: K, id: string): Versioned<ConfigKinds[K]> | undefined {
  return (state[SECTION[kind]] as Versioned<{ id: string }>[]).find((v) => v.value.id === id) as Versioned<ConfigKinds[K]> | undefined;
}

function notFound(kind: ConfigKind, id: string): TollgateError {
  return new TollgateError('not-found', `no ${NAMES[kind]} "${id.slice(0, 128)}"`);
}

function stale(kind: ConfigKind): TollgateError {
  return new TollgateError('precondition-failed', `the ${NAMES[kind]} has changed since it was read (If-Match does not match its ETag); read it again`);
}

export function createConfigService(options: ConfigServiceOptions): ConfigService {
  const { store, versions, logger } = options;

  function validate(state: ConfigState, changed?: { kind: ConfigKind; id: string }): void {
    const changedIndex = changed ? (state[SECTION[changed.kind]] as Versioned<{ id: string }>[]).findIndex((v) => v.value.id === changed.id) : -1;
    const doc: PolicyDocument = {
      roles: state.roles.map((v) => v.value),
      bindings: state.bindings.map((v) => v.value),
      denyRules: state.denyRules.map((v) => v.value),
    };
    try {
      compile(doc, { version: 'candidate', assertionTtl: options.assertionTtlSeconds, workloads: state.workloads.map((v) => v.value.id) });
    } catch (err) {
      if (!isTollgateError(err) || err.code !== 'config-invalid') throw err;
      const path = typeof err.details.path === 'string' ? err.details.path : '';
      const detail = err.message.replace(/^policy: [^:]*: /, '');
      const parts = parsePath(path);
      if (changed && parts[0] === SECTION[changed.kind] && parts[1] === changedIndex) {
        const pointer = pointerOf(parts.slice(2));
        throw new TollgateError('policy-invalid', `${pointer || 'the body'}: ${detail}`, {
          details: { errors: [{ in: 'body', pointer, detail } satisfies FieldError] },
        });
      }
      // The problem is elsewhere in the policy (a dependency of this change).
      const where = parts.length >= 2 && typeof parts[1] === 'number' ? describe(state, parts) : path;
      throw new TollgateError('policy-invalid', `the change would make the policy invalid: ${where}: ${detail}`);
    }
    validateCatalog(state.workloads.map((v) => v.value), changed?.kind === 'workload' ? changed.id : undefined);
  }

  function describe(state: ConfigState, parts: (string | number)[]): string {
    const section = parts[0] as keyof typeof REVERSE;
    const kind = REVERSE[section];
    const entry = kind ? (state[SECTION[kind]] as Versioned<{ id: string }>[])[parts[1] as number] : undefined;
    if (!kind || !entry) return parts.join('.');
    const rest = pointerOf(parts.slice(2));
    return `${NAMES[kind]} "${entry.value.id}"${rest ? ` at ${rest}` : ''}`;
  }

  /** Host names and endpoints: what compileCatalog would skip silently is refused here. */
  function validateCatalog(workloads: Workload[], changedId: string | undefined): void {
    const hostOwner = new Map<string, string>();
    const endpointOwner = new Map<string, string>();
    // The changed workload last: a clash is reported on it, naming the one that holds the name.
    const ordered = [...workloads.filter((w) => w.id !== changedId), ...workloads.filter((w) => w.id === changedId)];
    for (const w of ordered) {
      const mine = w.id === changedId;
      w.hosts.forEach((host, i) => {
        const problem = !isAuthority(host)
          ? 'is not a host name (authority, lower case, port optional)'
          : host === options.originAuthority
            ? 'is the gateway’s own origin'
            : hostOwner.has(host) && hostOwner.get(host) !== w.id
              ? `already belongs to workload "${hostOwner.get(host)}"`
              : null;
        if (problem && mine) throw fieldConflict(`/hosts/${i}`, `host ${host} ${problem}`, problem.startsWith('already') ? 'conflict' : 'policy-invalid');
        hostOwner.set(host, w.id);
      });
      w.endpoints.forEach((e, i) => {
        if (mine && endpointOrigin(e.url) === null) throw fieldConflict(`/endpoints/${i}/url`, 'must be an http(s) origin without path, query or credentials', 'policy-invalid');
        const owner = endpointOwner.get(e.id);
        if (owner !== undefined && mine) {
          throw fieldConflict(`/endpoints/${i}/id`, owner === w.id ? `endpoint id "${e.id}" is used twice` : `endpoint id "${e.id}" already belongs to workload "${owner}"`, 'conflict');
        }
        endpointOwner.set(e.id, w.id);
      });
    }
    // Whatever compileCatalog still objects to (defence in depth) is refused too.
    const catalog = compileCatalog(workloads, { originAuthority: options.originAuthority });
    const mineProblem = catalog.problems.find((p) => p.workload === changedId);
    if (mineProblem) throw new TollgateError('policy-invalid', `workload: ${mineProblem.problem}`);
  }

  async function write<R>(req: AdminRequest, plan: (state: ConfigState) => WritePlan<R>): Promise<{ version: string; result: R }> {
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const state = await store.state();
      const p = plan(state);
      const result = await store.commit({ base: state.version, ops: p.ops, audit: p.audit });
      if (result.committed) {
        await publish(result.version, req);
        return { version: result.version, result: p.result };
      }
      logger.info('admin-write-retry', { request_id: req.requestId, attempt });
    }
    throw new TollgateError('conflict', 'the configuration is changing too fast to apply this change; try again');
  }

  async function publish(version: string, req: AdminRequest): Promise<void> {
    try {
      await versions.publish(version);
    } catch (cause) {
      // The change is committed (with its record); answering 500 would invite a retry of a done write.
      // Snapshots pick it up with the next successful publish; the log says so.
      logger.error('config-publish-failed', { request_id: req.requestId, version, error: cause instanceof Error ? cause.name : 'unknown' });
    }
  }

  function record(req: AdminRequest, action: string, kind: ConfigKind, id: string, before: unknown, after: unknown): ChangeRecord {
    return { at: req.now, requestId: req.requestId, actor: req.actor, kind: 'change', action, resource: kind, id, before, after };
  }

  const wire = <K extends ConfigKind>(kind: K, value: ConfigKinds[K]): unknown => (toWire[kind] as (v: ConfigKinds[K]) => unknown)(value);

  return {
    state: () => store.state(),
    validate,
    write,

    list: (kind, page, filter) => store.page(kind, page, filter),

    async get(kind, id) {
      const found = await store.get(kind, id);
      if (!found) throw notFound(kind, id);
      return found;
    },

    async create(kind, value, req) {
      const { version } = await write(req, (state) => {
        if (find(state, kind, value.id)) throw new TollgateError('conflict', `a ${NAMES[kind]} with id "${value.id}" already exists`);
        const op = { type: 'put', kind, value, expect: 'absent' } as ConfigOp;
        validate(applyOps(state, [op]), { kind, id: value.id });
        return { ops: [op], audit: [record(req, 'create', kind, value.id, null, wire(kind, value))], result: undefined };
      });
      return { value, version: Number(version) };
    },

    async update(kind, value, ifMatch, req) {
      const { version } = await write(req, (state) => {
        const current = find(state, kind, value.id);
        if (!current) throw notFound(kind, value.id);
        if (!ifMatch.includes(current.version)) throw stale(kind);
        const op = { type: 'put', kind, value, expect: current.version } as ConfigOp;
        validate(applyOps(state, [op]), { kind, id: value.id });
        return { ops: [op], audit: [record(req, 'update', kind, value.id, wire(kind, current.value), wire(kind, value))], result: undefined };
      });
      return { value, version: Number(version) };
    },

    async remove(kind, id, ifMatch, req) {
      await write(req, (state) => {
        const current = find(state, kind, id);
        if (!current) throw notFound(kind, id);
        if (!ifMatch.includes(current.version)) throw stale(kind);
        if (kind === 'role') {
          const users = state.bindings.filter((b) => b.value.roleId === id).map((b) => b.value.id);
          if (users.length > 0) {
            throw new TollgateError('conflict', `the role is still bound: delete or change these bindings first: ${users.slice(0, 20).join(', ')}${users.length > 20 ? ', …' : ''}`);
          }
        }
        const op: ConfigOp = { type: 'delete', kind, id, expect: current.version };
        validate(applyOps(state, [op]));
        return { ops: [op], audit: [record(req, 'delete', kind, id, wire(kind, current.value), null)], result: undefined };
      });
    },
  };
}

const REVERSE: Record<'roles' | 'bindings' | 'denyRules' | 'workloads', ConfigKind> = {
  roles: 'role',
  bindings: 'binding',
  denyRules: 'deny-rule',
  workloads: 'workload',
};

function fieldConflict(pointer: string, detail: string, code: 'conflict' | 'policy-invalid'): TollgateError {
  return new TollgateError(code, `${pointer}: ${detail}`, { details: { errors: [{ in: 'body', pointer, detail } satisfies FieldError] } });
}
