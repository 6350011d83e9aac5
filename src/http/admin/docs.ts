/**
 * GET /admin/v1/docs: a human-readable page rendered from the OpenAPI document
 * (the same one /admin/v1/openapi.json serves). Self-contained: inline CSS,
 * no scripts, no external assets, so it works offline and keeps the Worker
 * small (no swagger-ui).
 */
import { escapeHtml } from '../pages.js';

type Json = Record<string, unknown>;

const CSS =
  'body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}' +
  'h1{font-size:1.5rem}h2{font-size:1.2rem;margin-top:2.5rem;border-bottom:1px solid #ddd}' +
  'h3{font-size:1rem;margin:1.5rem 0 .3rem}code,pre{background:#f4f4f4;border-radius:3px}code{padding:0 .25rem}' +
  'pre{padding:.6rem;overflow:auto;font-size:13px}table{border-collapse:collapse;margin:.3rem 0}' +
  'td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}' +
  '.m{display:inline-block;min-width:4.5rem;font-weight:600}.get{color:#05a}.post{color:#080}.put{color:#a60}.delete{color:#b00}.patch{color:#a60}' +
  'nav li{list-style:none}nav ul{padding-left:0}';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function anchor(method: string, path: string): string {
  return `${method}-${path}`.replace(/[^A-Za-z0-9_-]+/g, '-');
}

function refName(ref: string): string {
  return ref.replace('#/components/schemas/', '');
}

function schemaRef(schema: unknown): string {
  const s = (schema ?? {}) as Json;
  if (typeof s.$ref === 'string') {
    const name = refName(s.$ref);
    return `<a href="#schema-${escapeHtml(name)}"><code>${escapeHtml(name)}</code></a>`;
  }
  return `<code>${escapeHtml(JSON.stringify(s))}</code>`;
}

export function renderDocs(doc: Json): string {
  const info = (doc.info ?? {}) as Json;
  const paths = (doc.paths ?? {}) as Record<string, Record<string, Json>>;
  const schemas = (((doc.components ?? {}) as Json).schemas ?? {}) as Record<string, unknown>;
  const ops: { method: string; path: string; op: Json }[] = [];
  for (const path of Object.keys(paths).sort()) {
    for (const method of METHODS) {
      const op = paths[path]![method];
      if (op) ops.push({ method, path, op });
    }
  }
  const out: string[] = [];
  out.push('<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">');
  out.push(`<title>${escapeHtml(String(info.title ?? 'API'))}</title><style>${CSS}</style></head><body><main>`);
  out.push(`<h1>${escapeHtml(String(info.title ?? 'API'))} <small>${escapeHtml(String(info.version ?? ''))}</small></h1>`);
  if (info.description) out.push(`<p>${escapeHtml(String(info.description))}</p>`);
  out.push('<p>Machine-readable: <a href="openapi.json"><code>openapi.json</code></a> (OpenAPI 3.1).</p>');
  out.push('<nav><h2>Endpoints</h2><ul>');
  for (const { method, path, op } of ops) {
    out.push(`<li><a href="#${anchor(method, path)}"><span class="m ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></a> ${escapeHtml(String(op.summary ?? ''))}</li>`);
  }
  out.push('</ul></nav>');
  for (const { method, path, op } of ops) {
    out.push(`<h2 id="${anchor(method, path)}"><span class="m ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h2>`);
    if (op.summary) out.push(`<p><strong>${escapeHtml(String(op.summary))}</strong></p>`);
    if (op.description) out.push(`<p>${escapeHtml(String(op.description))}</p>`);
    const params = (op.parameters ?? []) as Json[];
    if (params.length > 0) {
      out.push('<h3>Parameters</h3><table><tr><th>name</th><th>in</th><th>required</th><th>schema</th><th>description</th></tr>');
      for (const p of params) {
        out.push(`<tr><td><code>${escapeHtml(String(p.name))}</code></td><td>${escapeHtml(String(p.in))}</td><td>${p.required ? 'yes' : 'no'}</td><td>${schemaRef(p.schema)}</td><td>${escapeHtml(String(p.description ?? ''))}</td></tr>`);
      }
      out.push('</table>');
    }
    const body = op.requestBody as Json | undefined;
    if (body) {
      const content = (body.content ?? {}) as Record<string, Json>;
      for (const [type, c] of Object.entries(content)) out.push(`<h3>Request body</h3><p><code>${escapeHtml(type)}</code> ${schemaRef(c.schema)}</p>`);
    }
    const responses = (op.responses ?? {}) as Record<string, Json>;
    out.push('<h3>Responses</h3><table><tr><th>status</th><th>description</th><th>body</th></tr>');
    for (const [status, r] of Object.entries(responses)) {
      const content = (r.content ?? {}) as Record<string, Json>;
      const first = Object.entries(content)[0];
      out.push(`<tr><td>${escapeHtml(status)}</td><td>${escapeHtml(String(r.description ?? ''))}</td><td>${first ? `<code>${escapeHtml(first[0])}</code> ${schemaRef(first[1].schema)}` : ''}</td></tr>`);
    }
    out.push('</table>');
  }
  out.push('<h2>Schemas</h2>');
  for (const name of Object.keys(schemas).sort()) {
    out.push(`<h3 id="schema-${escapeHtml(name)}"><code>${escapeHtml(name)}</code></h3><pre>${escapeHtml(JSON.stringify(schemas[name], null, 2))}</pre>`);
  }
  out.push('</main></body></html>');
  return out.join('');
}
