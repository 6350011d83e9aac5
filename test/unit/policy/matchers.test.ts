import { describe, expect, it } from 'vitest';
import { cidrContains, parseAddress, parseCidr } from '../../../src/policy/cidr.js';
import { compileMethods, compilePathGlobs, compileWorkloadPattern, PatternError } from '../../../src/policy/glob.js';
import { compile, evaluate } from '../../../src/policy/index.js';
import { compileWindow, inWindow, localTime } from '../../../src/policy/time.js';
import { input, user } from './fixtures.js';

describe('path globs', () => {
  const cases: [glob: string, path: string, matches: boolean][] = [
    // "*": exactly one segment (possibly empty), never "/"
    ['/a/*', '/a/b', true],
    ['/a/*', '/a/', true],
    ['/a/*', '/a', false],
    ['/a/*', '/a/b/c', false],
    ['/a/*', '/a/b/', false],
    // %2F is not a separator: one segment, matched on the raw path
    ['/a/*', '/a/b%2Fc', true],
    ['/a/*/c', '/a/b%2Fc', false],
    ['/a%2Fb', '/a%2Fb', true],
    ['/a%2Fb', '/a/b', false],
    ['/a%2Fb', '/a%2fb', false],
    // wildcards never match dot-segments, literal or percent-encoded
    ['/a/*', '/a/.', false],
    ['/a/*', '/a/..', false],
    ['/a/*', '/a/%2e%2e', false],
    ['/a/*', '/a/%2E%2e', false],
    ['/a/*', '/a/.%2e', false],
    ['/a/*', '/a/%2e', false],
    ['/a/*', '/a/...', true],
    ['/a/*', '/a/.hidden', true],
    ['/a/*', '/a/..%2Fadmin', true],
    ['/a/.*', '/a/..', false],
    ['/a/.*', '/a/.x', true],
    ['/a/**', '/a/b/../../admin', false],
    ['/a/**', '/a/%2e%2e/admin', false],
    ['/a/**', '/a/b/./c', false],
    // a literal segment is only itself
    ['/a/b', '/a/../a/b', false],
    // "**": any number of segments including none
    ['/a/**', '/a', true],
    ['/a/**', '/a/', true],
    ['/a/**', '/a/b', true],
    ['/a/**', '/a/b/c/d', true],
    ['/a/**', '/ab', false],
    ['/a/**', '/b/a', false],
    ['/a/**/z', '/a/z', true],
    ['/a/**/z', '/a/b/z', true],
    ['/a/**/z', '/a/b/c/z', true],
    ['/a/**/z', '/a/z/', false],
    ['/a/**/z', '/a/bz', false],
    ['/a/**/**/z', '/a/z', true],
    ['/**', '/', true],
    ['/**', '/anything/at/all', true],
    ['/**', '/x/../y', false],
    ['/**/x.json', '/x.json', true],
    ['/**/x.json', '/deep/er/x.json', true],
    // trailing slash is significant
    ['/items/', '/items/', true],
    ['/items/', '/items', false],
    ['/items', '/items/', false],
    ['/', '/', true],
    ['/', '//', false],
    // "*" inside a segment
    ['/api/v*/users', '/api/v1/users', true],
    ['/api/v*/users', '/api/v/users', true],
    ['/api/v*/users', '/api/x1/users', false],
    ['/a/*.json', '/a/x.json', true],
    ['/a/*.json', '/a/x.jsonp', false],
    ['/a/*-*', '/a/x-y-z', true],
    // regex metacharacters are literal
    ['/a.b', '/aXb', false],
    ['/a.b', '/a.b', true],
    ['/a+(b)|c', '/a+(b)|c', true],
    ['/a+(b)|c', '/aa(b)', false],
    ['/$x^', '/$x^', true],
    ['/[ab]', '/a', false],
    // case-sensitive
    ['/Admin', '/admin', false],
  ];
  it.each(cases)('%s vs %s → %s', (glob, path, matches) => {
    expect(compilePathGlobs([glob]).test(path)).toBe(matches);
  });

  it.each([
    ['no leading slash', 'a/b'],
    ['empty', ''],
    ['"**" inside a segment', '/a/**b'],
    ['"***"', '/a/***'],
    ['space', '/a b'],
    ['query', '/a?x=1'],
    ['fragment', '/a#x'],
    ['control character', '/a\u0000'],
    ['dot-dot segment', '/a/../b'],
    ['dot segment', '/./a'],
    ['encoded dot-dot segment', '/%2e%2E/x'],
    ['too many wildcards', '/' + Array.from({ length: 17 }, () => '*').join('/')],
    ['too long', '/' + 'a'.repeat(1100)],
  ])('refuses a glob with %s', (_name, glob) => {
    expect(() => compilePathGlobs([glob])).toThrow(PatternError);
  });

  it('refuses non-lists and non-strings', () => {
    expect(() => compilePathGlobs([])).toThrow(PatternError);
    expect(() => compilePathGlobs('/a')).toThrow(PatternError);
    expect(() => compilePathGlobs([5])).toThrow(PatternError);
  });

  it('stays linear on adversarial paths', () => {
    const re = compilePathGlobs(['/**/a/**/b/**/c/**/d']);
    // Would take ages with exponential backtracking; here it returns.
    expect(re.test('/' + Array.from({ length: 2000 }, () => 'a').join('/') + '/x')).toBe(false);
    const star = compilePathGlobs(['/*a*a*a*a*a*a*a*a*b']);
    expect(star.test('/' + 'a'.repeat(60))).toBe(false);
  });

  it('matches through evaluate on the raw path', () => {
    const s = compile({
      roles: [{ id: 'r', grants: [{ id: 'g', workload: 'w', methods: ['GET'], paths: ['/public/**', '/files/*'] }], permissions: [] }],
      bindings: [{ id: 'b', subject: { kind: 'user', value: 'u' }, roleId: 'r' }],
      denyRules: [],
    });
    const at = (path: string) => evaluate(s, input(user('u'), { workload: 'w', path })).effect;
    expect(at('/public')).toBe('allow');
    expect(at('/public/a/b')).toBe('allow');
    expect(at('/public/../admin')).toBe('deny');
    expect(at('/public/%2e%2e/admin')).toBe('deny');
    expect(at('/files/a%2Fb')).toBe('allow');
    expect(at('/files/a/b')).toBe('deny');
    expect(at('/Public')).toBe('deny');
  });
});

describe('workload patterns and methods', () => {
  it('exact and glob workloads', () => {
    expect(compileWorkloadPattern('inventory')).toEqual({ exact: 'inventory' });
    const p = compileWorkloadPattern('inv-*');
    expect('glob' in p && p.glob.test('inv-1')).toBe(true);
    expect('glob' in p && p.glob.test('inv-')).toBe(true);
    expect('glob' in p && p.glob.test('xinv-1')).toBe(false);
    const dot = compileWorkloadPattern('a.*');
    expect('glob' in dot && dot.glob.test('abc')).toBe(false);
    const all = compileWorkloadPattern('*');
    expect('glob' in all && all.glob.test('anything')).toBe(true);
  });
  it.each(['', 'a b', 'a/b', 5, 'x'.repeat(300)])('refuses workload %j', (w) => {
    expect(() => compileWorkloadPattern(w)).toThrow(PatternError);
  });
  it('methods', () => {
    expect(compileMethods(['GET', 'POST'])).toEqual(new Set(['GET', 'POST']));
    expect(compileMethods(['GET', '*'])).toBeNull();
    expect(compileMethods(['M-SEARCH'])).toEqual(new Set(['M-SEARCH']));
    for (const bad of [[], ['get'], ['G ET'], [''], ['*', 'get'], 'GET', [5]]) expect(() => compileMethods(bad)).toThrow(PatternError);
  });
});

describe('addresses and CIDRs', () => {
  const contains = (cidr: string, ip: string) => {
    const c = parseCidr(cidr);
    const a = parseAddress(ip);
    if (!c || !a) throw new Error(`unparsable ${cidr} / ${ip}`);
    return cidrContains(c, a);
  };
  it.each([
    ['10.0.0.0/8', '10.0.0.0', true],
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '9.255.255.255', false],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['192.168.1.128/25', '192.168.1.127', false],
    ['192.168.1.128/25', '192.168.1.128', true],
    ['192.168.1.128/25', '192.168.1.255', true],
    ['203.0.113.7/32', '203.0.113.7', true],
    ['203.0.113.7/32', '203.0.113.8', false],
    ['203.0.113.7', '203.0.113.7', true],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['0.0.0.0/0', '::1', false],
    ['::/0', '::1', true],
    ['::/0', '1.2.3.4', false],
    ['2001:db8::/32', '2001:db8::', true],
    ['2001:db8::/32', '2001:0db8:ffff:ffff:ffff:ffff:ffff:ffff', true],
    ['2001:db8::/32', '2001:db9::', false],
    ['2001:db8::/32', '2001:db7:ffff::', false],
    ['2001:db8:0:0:8000::/65', '2001:db8::8000:0:0:0', true],
    ['2001:db8:0:0:8000::/65', '2001:db8::7fff:ffff:ffff:ffff', false],
    ['2001:db8::1/128', '2001:DB8::1', true],
    ['2001:db8::1/128', '2001:db8::2', false],
    ['fe80::/10', 'febf:ffff::1', true],
    ['fe80::/10', 'fec0::1', false],
    ['::1/128', '0:0:0:0:0:0:0:1', true],
    ['10.0.0.0/8', '::ffff:10.1.2.3', true],
    ['10.0.0.0/8', '::ffff:a01:203', true],
    ['::ffff:10.0.0.0/104', '10.200.0.1', true],
    ['::ffff:10.0.0.0/104', '11.0.0.1', false],
    ['64:ff9b::/96', '64:ff9b::c000:201', true],
    ['::/0', '64:ff9b::192.0.2.1', true],
  ])('%s contains %s → %s', (cidr, ip, expected) => {
    expect(contains(cidr, ip)).toBe(expected);
  });

  it.each([
    '10.0.0.0/33',
    '10.0.0.0/-1',
    '10.0.0.0/',
    '10.0.0.0/08',
    '10.1.0.0/8',
    '256.0.0.0/8',
    '10.0.0/8',
    '010.0.0.0/8',
    '2001:db8::/129',
    '2001:db8::1/32',
    '2001:db8:::/32',
    '1:2:3:4:5:6:7:8:9/128',
    '1::2::3/128',
    'fe80::1%eth0/128',
    '::ffff:10.0.0.0/95',
    'localhost',
    '',
    ' 10.0.0.0/8',
  ])('refuses CIDR %j', (cidr) => {
    expect(parseCidr(cidr)).toBeNull();
  });

  it.each(['', '1.2.3', '1.2.3.4.5', '1.2.3.256', '01.2.3.4', '1.2.3.4 ', ':::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', 'g::1', '::1%lo', '[::1]', '1.2.3.4, 5.6.7.8'])(
    'refuses address %j',
    (ip) => {
      expect(parseAddress(ip)).toBeNull();
    },
  );

  it('parses the compressed forms', () => {
    expect(parseAddress('::')).toEqual({ v6: true, words: [0, 0, 0, 0] });
    expect(parseAddress('1::')).toEqual({ v6: true, words: [0x10000, 0, 0, 0] });
    expect(parseAddress('1:2:3:4:5:6:7:8')).toEqual({ v6: true, words: [0x10002, 0x30004, 0x50006, 0x70008] });
    expect(parseAddress('1:2:3:4:5:6:1.2.3.4')).toEqual({ v6: true, words: [0x10002, 0x30004, 0x50006, 0x01020304] });
  });
});

describe('time windows', () => {
  const at = (iso: string) => Date.parse(iso) / 1000;
  const w = (start: string, end: string, timeZone: string, days?: number[]) => compileWindow({ start, end, timeZone, days });

  it.each([
    // Europe/Berlin, spring forward 2026-03-29 02:00 CET → 03:00 CEST. Same UTC instant, one hour apart on the wall.
    ['Berlin 09–17, Sat 07:30Z = 08:30 CET', w('09:00', '17:00', 'Europe/Berlin'), '2026-03-28T07:30:00Z', false],
    ['Berlin 09–17, Sun 07:30Z = 09:30 CEST', w('09:00', '17:00', 'Europe/Berlin'), '2026-03-29T07:30:00Z', true],
    ['Berlin 09–17, Sun 15:30Z = 17:30 CEST', w('09:00', '17:00', 'Europe/Berlin'), '2026-03-29T15:30:00Z', false],
    ['Berlin 09–17, Sat 15:30Z = 16:30 CET', w('09:00', '17:00', 'Europe/Berlin'), '2026-03-28T15:30:00Z', true],
    // The skipped hour never occurs on the wall clock.
    ['Berlin 02–03 on the DST day, 00:59Z = 01:59 CET', w('02:00', '03:00', 'Europe/Berlin'), '2026-03-29T00:59:00Z', false],
    ['Berlin 02–03 on the DST day, 01:00Z = 03:00 CEST', w('02:00', '03:00', 'Europe/Berlin'), '2026-03-29T01:00:00Z', false],
    // America/New_York fall back 2026-11-01 02:00 EDT → 01:00 EST: 01:30 happens twice, both inside.
    ['New York 01–02, 05:30Z = 01:30 EDT', w('01:00', '02:00', 'America/New_York'), '2026-11-01T05:30:00Z', true],
    ['New York 01–02, 06:30Z = 01:30 EST', w('01:00', '02:00', 'America/New_York'), '2026-11-01T06:30:00Z', true],
    ['New York 01–02, 07:00Z = 02:00 EST', w('01:00', '02:00', 'America/New_York'), '2026-11-01T07:00:00Z', false],
    // Half-hour zone.
    ['Kolkata 09–10, 03:30Z = 09:00 IST', w('09:00', '10:00', 'Asia/Kolkata'), '2026-01-07T03:30:00Z', true],
    ['Kolkata 09–10, 03:29Z = 08:59 IST', w('09:00', '10:00', 'Asia/Kolkata'), '2026-01-07T03:29:00Z', false],
    // Day of week is local: Monday 00:30 in Tokyo is still Sunday in UTC.
    ['Tokyo Mondays, Sun 15:30Z = Mon 00:30 JST', w('00:00', '24:00', 'Asia/Tokyo', [1]), '2026-01-11T15:30:00Z', true],
    ['Tokyo Mondays, Mon 15:30Z = Tue 00:30 JST', w('00:00', '24:00', 'Asia/Tokyo', [1]), '2026-01-12T15:30:00Z', false],
    // Overnight window 22:00–06:00 starting Fridays (UTC).
    ['overnight, Fri 23:00', w('22:00', '06:00', 'UTC', [5]), '2026-01-09T23:00:00Z', true],
    ['overnight, Sat 05:59', w('22:00', '06:00', 'UTC', [5]), '2026-01-10T05:59:00Z', true],
    ['overnight, Sat 06:00', w('22:00', '06:00', 'UTC', [5]), '2026-01-10T06:00:00Z', false],
    ['overnight, Fri 05:00 (belongs to Thursday)', w('22:00', '06:00', 'UTC', [5]), '2026-01-09T05:00:00Z', false],
    ['overnight, Sat 23:00', w('22:00', '06:00', 'UTC', [5]), '2026-01-10T23:00:00Z', false],
    ['end 24:00 covers 23:59', w('12:00', '24:00', 'UTC'), '2026-01-10T23:59:59Z', true],
  ] as const)('%s → %s', (_name, window, iso, expected) => {
    expect(inWindow(window, at(iso))).toBe(expected);
  });

  it('local time follows the zone, computed per minute', () => {
    expect(localTime('Europe/Berlin', at('2026-07-01T22:30:00Z'))).toEqual({ day: 4, minuteOfDay: 30 });
    expect(localTime('Europe/Berlin', at('2026-07-01T22:30:59Z'))).toEqual({ day: 4, minuteOfDay: 30 });
    expect(localTime('Europe/Berlin', at('2026-07-01T22:31:00Z'))).toEqual({ day: 4, minuteOfDay: 31 });
  });

  it.each([
    ['unknown zone', { start: '09:00', end: '17:00', timeZone: 'Mars/Olympus' }],
    ['no zone', { start: '09:00', end: '17:00' }],
    ['bad time', { start: '9:00', end: '17:00', timeZone: 'UTC' }],
    ['24:00 start', { start: '24:00', end: '17:00', timeZone: 'UTC' }],
    ['minute 60', { start: '09:60', end: '17:00', timeZone: 'UTC' }],
    ['empty window', { start: '09:00', end: '09:00', timeZone: 'UTC' }],
    ['day 7', { start: '09:00', end: '17:00', timeZone: 'UTC', days: [7] }],
    ['no days', { start: '09:00', end: '17:00', timeZone: 'UTC', days: [] }],
  ])('refuses a window with %s', (_name, window) => {
    expect(() => compileWindow(window)).toThrow();
  });

  it('through evaluate, across the DST change', () => {
    const s = compile({
      roles: [
        {
          id: 'r',
          grants: [{ id: 'g', workload: 'w', methods: ['GET'], paths: ['/**'], conditions: { timeWindows: [{ start: '09:00', end: '17:00', timeZone: 'Europe/Berlin' }] } }],
          permissions: [],
        },
      ],
      bindings: [{ id: 'b', subject: { kind: 'user', value: 'u' }, roleId: 'r' }],
      denyRules: [],
    });
    const d = (iso: string) => evaluate(s, input(user('u'), { workload: 'w' }, { now: at(iso) }));
    expect(d('2026-03-28T07:30:00Z').reasons).toEqual(['outside-time-window']);
    expect(d('2026-03-29T07:30:00Z').reasons).toEqual(['allowed']);
  });
});
