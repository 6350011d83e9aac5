/**
 * Claims → a Tollgate service principal. A rule lists claim patterns; every
 * one must match (strings only, `*` = any run of characters, everything else
 * literal and case-sensitive); the first rule that matches names the service.
 * No rule matches → the token is refused: an external token never becomes a
 * principal nobody configured.
 */
import type { JWTPayload } from 'jose';
import { SERVICE_ID } from '../oauth/model.js';
import type { IssuerPreset, MappingRule } from './model.js';
import { PRESETS } from './presets.js';

const MAX_RULES = 100;
const MAX_PATTERN = 512;
const CLAIM_NAME = /^[A-Za-z0-9_.:-]{1,64}$/;

/** `*` matches any run of characters (including none); everything else is literal. */
export function starMatch(pattern: string, value: string): boolean {
  const parts = pattern.split('*');
  if (parts.length === 1) return pattern === value;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (value.length < first.length + last.length || !value.startsWith(first) || !value.endsWith(last)) return false;
  let at = first.length;
  const end = value.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const p = parts[i]!;
    if (p === '') continue;
    const found = value.indexOf(p, at);
    if (found < 0 || found + p.length > end) return false;
    at = found + p.length;
  }
  return true;
}

/** Why a rule set is refused for this preset (admin API: 422), or null. Pointers are relative to `rules`. */
export function rulesProblem(preset: IssuerPreset, rules: readonly MappingRule[]): { pointer: string; detail: string } | null {
  const spec = PRESETS[preset];
  if (rules.length === 0) return { pointer: '', detail: 'at least one mapping rule is needed: without one no token can be mapped to a service' };
  if (rules.length > MAX_RULES) return { pointer: '', detail: `at most ${MAX_RULES} rules` };
  for (const [i, rule] of rules.entries()) {
    if (!SERVICE_ID.test(rule.service)) return { pointer: `/${i}/service`, detail: 'must be a service id (letters, digits, . _ ~ -; 1-128 characters)' };
    const names = Object.keys(rule.claims);
    if (names.length === 0) return { pointer: `/${i}/claims`, detail: 'must test at least one claim' };
    for (const name of names) {
      const pattern = rule.claims[name]!;
      if (!CLAIM_NAME.test(name)) return { pointer: `/${i}/claims/${name}`, detail: 'is not a claim name' };
      if (spec.claims !== null && !spec.claims.includes(name)) {
        return { pointer: `/${i}/claims/${name}`, detail: `is not a claim of the ${preset} preset (one of: ${spec.claims.join(', ')})` };
      }
      if (typeof pattern !== 'string' || pattern.length === 0 || pattern.length > MAX_PATTERN) {
        return { pointer: `/${i}/claims/${name}`, detail: `must be a pattern of 1-${MAX_PATTERN} characters` };
      }
    }
    const strong = (n: string) => rule.claims[n] !== undefined && rule.claims[n]!.replace(/\*/g, '') !== '';
    const identified =
      preset === 'kubernetes'
        ? strong('sub') || (strong('namespace') && strong('service_account'))
        : spec.identifying.some(strong);
    if (!identified) {
      const need = preset === 'kubernetes' ? 'sub, or namespace and service_account' : `one of ${spec.identifying.join(', ')}`;
      return { pointer: `/${i}/claims`, detail: `must pin down a workload: test ${need} with a pattern that is not only "*"` };
    }
  }
  return null;
}

/** The service id the first matching rule names, or null. */
export function mapClaims(preset: IssuerPreset, rules: readonly MappingRule[], payload: JWTPayload): string | null {
  const spec = PRESETS[preset];
  for (const rule of rules) {
    let ok = true;
    for (const [name, pattern] of Object.entries(rule.claims)) {
      const value = spec.read(payload, name);
      if (value === undefined || !starMatch(pattern, value)) {
        ok = false;
        break;
      }
    }
    if (ok) return rule.service;
  }
  return null;
}
