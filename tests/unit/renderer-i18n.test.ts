/**
 * The catalogs are complete: English and German have exactly the same keys, every key a component uses exists,
 * plurals come in pairs, and no JSX text is written outside the catalogs. Reads the renderer sources as text.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { en } from '../../renderer/src/i18n/en.js';
import { de } from '../../renderer/src/i18n/de.js';
import { i18n, pickLanguage } from '../../renderer/src/i18n/index.js';
import { dayLabel, listTime } from '../../renderer/src/lib/format.js';

const SRC = path.resolve(__dirname, '../../renderer/src');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = path.join(dir, f);
    if (statSync(p).isDirectory()) return p.endsWith('i18n') ? [] : sources(p);
    return /\.tsx?$/.test(p) ? [p] : [];
  });
}

type Tree = Record<string, Record<string, string>>;
function keys(cat: Tree): string[] {
  return Object.entries(cat).flatMap(([ns, kv]) => Object.keys(kv).map((k) => `${ns}.${k}`)).sort();
}

/** Keys as i18next resolves them: `x_one`/`x_other` are both the key `x` when called with a count. */
function resolvable(cat: Tree): Set<string> {
  return new Set(keys(cat).flatMap((k) => [k, k.replace(/_(one|other|zero|two|few|many)$/, '')]));
}

describe('message catalogs', () => {
  it('English and German have exactly the same keys, none empty', () => {
    expect(keys(de as Tree)).toEqual(keys(en as Tree));
    for (const cat of [en, de] as Tree[]) for (const [ns, kv] of Object.entries(cat)) for (const [k, v] of Object.entries(kv)) expect(v.trim(), `${ns}.${k}`).not.toBe('');
  });

  it('finds a key missing from a catalog (the check itself works)', () => {
    const broken = { ...(de as Tree), chat: { ...(de as Tree).chat } };
    delete broken.chat!['verified'];
    expect(keys(broken)).not.toEqual(keys(en as Tree));
  });

  it('plurals come as _one and _other pairs', () => {
    const singulars = keys(en as Tree).filter((k) => k.endsWith('_one'));
    expect(singulars.length).toBeGreaterThan(0); // the check below ran over something
    for (const k of singulars) expect(keys(en as Tree)).toContain(k.replace(/_one$/, '_other'));
  });

  it('every key the renderer uses exists in the catalogs', () => {
    const known = resolvable(en as Tree);
    const namespaces = new Set(Object.keys(en));
    const used: Array<[string, string]> = [];
    const prefixes: Array<[string, string]> = [];
    for (const file of sources(SRC)) {
      const text = readFileSync(file, 'utf8');
      const rel = path.relative(SRC, file);
      // t('ns.key'), tr('ns.key'), i18nKey="ns.key", and plain 'ns.key' literals (tables of keys).
      for (const m of text.matchAll(/['"`]([a-z][a-zA-Z]*)\.([a-zA-Z_]+)['"`]/g)) {
        if (namespaces.has(m[1]!)) used.push([rel, `${m[1]}.${m[2]}`]);
      }
      // t(`ns.${x}`): the namespace must exist (the values are checked where they come from).
      for (const m of text.matchAll(/`([a-z][a-zA-Z]*)\.\$\{/g)) prefixes.push([rel, m[1]!]);
    }
    expect(used.length).toBeGreaterThan(150);
    const missing = used.filter(([, k]) => !known.has(k));
    expect(missing).toEqual([]);
    expect(prefixes.filter(([, ns]) => !namespaces.has(ns))).toEqual([]);
  });

  it('keys built at run time resolve for every value', () => {
    for (const r of ['accepted', 'rejected', 'pending']) expect(en.keyChange).toHaveProperty(r);
    for (const p of ['empty', 'lowercase', 'tooShort', 'tooLong', 'start', 'notAllowed', 'chars']) expect(en.username).toHaveProperty(p);
    for (const l of ['en', 'de']) expect(en.languages).toHaveProperty(l);
  });

  it('no visible text is written in a component instead of a catalog', () => {
    const offenders: string[] = [];
    for (const file of sources(SRC).filter((f) => f.endsWith('.tsx'))) {
      const text = readFileSync(file, 'utf8');
      // JSX text between tags, and text attributes people see or hear.
      for (const m of text.matchAll(/(?<![=-])>\s*([^<>{}\n]*[A-Za-z]{3,}[^<>{}\n]*)</g)) {
        // Code between generics (`<HTMLElement>('…')`, `n >= MIN_W && n <`) is not text: it has code punctuation.
        if (!/^Parley \d/.test(m[1]!.trim()) && !/[()=&?;]/.test(m[1]!)) offenders.push(`${path.relative(SRC, file)}: ${m[1]!.trim()}`);
      }
      for (const m of text.matchAll(/(aria-label|title|alt|placeholder)="([^"]*[A-Za-z]{3,}[^"]*)"/g)) {
        if (!/^https?:\/\//.test(m[2]!)) offenders.push(`${path.relative(SRC, file)}: ${m[1]}="${m[2]}"`);
      }
    }
    expect(offenders).toEqual([]);
  });
});

describe('languages, plurals and dates', () => {
  it('defaults to the OS language when supported, else English', () => {
    expect(pickLanguage(['de-AT', 'en-US'])).toBe('de');
    expect(pickLanguage(['fr-FR', 'en-GB'])).toBe('en');
    expect(pickLanguage(['ja'])).toBe('en');
  });

  it('plurals and interpolation through i18next in both languages', async () => {
    await i18n.changeLanguage('en');
    expect(i18n.t('composer.left', { count: 1 })).toBe('1 character left');
    expect(i18n.t('composer.left', { count: 12 })).toBe('12 characters left');
    expect(i18n.t('shell.windowTitleUnread', { count: 3 })).toBe('(3) Parley');
    await i18n.changeLanguage('de');
    expect(i18n.t('composer.over', { count: 2 })).toBe('2 Zeichen zu lang: kürze die Nachricht, um sie zu senden');
    expect(i18n.t('errors.TOO_LARGE')).toMatch(/zu lang/);
    await i18n.changeLanguage('en');
  });

  it('dates in the UI language', () => {
    const now = new Date(2026, 2, 12, 15, 30).getTime();
    const tue = new Date(2026, 2, 10, 9, 0).getTime();
    const old = new Date(2026, 2, 3, 9, 0).getTime();
    expect(listTime(tue, now, 'de')).toBe('Di');
    expect(dayLabel(old, now, 'de', { today: 'Heute', yesterday: 'Gestern' })).toBe('3. März 2026');
    expect(dayLabel(now, now, 'de', { today: 'Heute', yesterday: 'Gestern' })).toBe('Heute');
    expect(dayLabel(old, now, 'en')).toBe('3 March 2026');
  });
});
