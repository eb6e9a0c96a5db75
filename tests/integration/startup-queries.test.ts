/**
 * Nothing on the start-up path scans the history: every statement the core prepares while a profile unlocks,
 * connects, and serves what the UI asks for first (state, the conversation list, the open conversation's latest
 * page) reads the message-sized tables through an index. Real relay, real encrypted SQLite, real services: the
 * statements are recorded by wrapping the SQLite driver's prepare() and checked with EXPLAIN QUERY PLAN.
 * Only contacts and conversations (one row per conversation: the list shows them all anyway) may be scanned.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { openVault } from '../../electron/core/vault/index.js';
import { readProfile } from '../../electron/core/profile.js';
import { aliceAndBob, cleanupAll, PASSPHRASE, reopenService, startTestRelay, waitUntil } from '../helpers/core.js';
import { openRawDb, recordPrepared } from '../helpers/raw-db.js';

afterAll(cleanupAll);

/** Tables whose size is the number of conversations (or fixed): a scan of them is bounded by what the list shows. */
// Tables with at most one row per contact or conversation (drafts: one per conversation with a half-typed message).
// Partial indexes hold only the rows still to do (unfinished uploads), never the history: scanning one is bounded.
const PARTIAL_INDEXES = new Set(['attachments_unfinished']);
const SCANNABLE = new Set(['contacts', 'conversations', 'drafts', 'settings', 'sqlite_master', 'sqlite_schema']);
const KEYWORDS = new Set(['where', 'on', 'left', 'inner', 'join', 'order', 'group', 'limit', 'set', 'using', 'returning', 'values', 'as']);

/** alias → table for every FROM/JOIN/UPDATE/INTO in a statement. */
function tablesOf(sql: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of sql.matchAll(/\b(?:FROM|JOIN|UPDATE|INTO)\s+(\w+)(?:\s+(?:AS\s+)?(\w+))?/gi)) {
    const table = m[1]!.toLowerCase();
    out.set(table, table);
    const alias = m[2]?.toLowerCase();
    if (alias && !KEYWORDS.has(alias)) out.set(alias, table);
  }
  return out;
}

/** Parameters for EXPLAIN: nulls by name (@x) or by position (?). */
function nullParams(sql: string): unknown[] {
  const named = [...sql.matchAll(/@(\w+)/g)].map((m) => m[1]!);
  if (named.length) return [Object.fromEntries(named.map((n) => [n, null]))];
  return Array.from({ length: (sql.match(/\?/g) ?? []).length }, () => null);
}

describe('start-up path', () => {
  it('runs no statement that scans messages (or any other history-sized table) and no count(*) over messages', async () => {
    const relay = await startTestRelay();
    const { alice, bob } = await aliceAndBob(relay.url);
    // Some history of every kind: messages both ways, dedupe marks, receipts through the outbox.
    for (let i = 0; i < 5; i++) await alice.sendMessage({ conversation: 'd:bob', text: `hello ${i}` });
    await bob.sendMessage({ conversation: 'd:alice', text: 'hi back' });
    await waitUntil(async () => (await alice.loadMessages({ conversation: 'd:bob' })).total === 6, 20_000, 'alice has both directions');
    const profileDir = alice.profile.dir;
    await alice.close();

    // Every statement prepared while the profile starts, connects and answers the UI's first calls.
    const prepared = await recordPrepared(async () => {
      const again = await reopenService(profileDir);
      await again.waitOnline();
      await again.getState();
      await again.listConversations({});
      await again.loadMessages({ conversation: 'd:bob' });
      await again.idle();
      await again.close();
    });

    const statements = [...new Set(prepared.map((s) => s.trim()))].filter((s) => !/^(PRAGMA|EXPLAIN)\b/i.test(s));
    expect(statements.length).toBeGreaterThan(5); // the spy saw the path (open, list, page, outbox...)
    expect(statements.some((s) => /FROM\s+messages/i.test(s))).toBe(true);

    const profile = readProfile(profileDir)!;
    const { dbKey } = await openVault(profile, { kind: 'file', passphrase: PASSPHRASE }).load();
    const raw = openRawDb(profile.paths.db, dbKey, { readonly: true });
    const scans: string[] = [];
    try {
      for (const sql of statements) {
        const tables = tablesOf(sql);
        const plan = raw.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...nullParams(sql)) as Array<{ detail: string }>;
        for (const { detail } of plan) {
          const m = /^SCAN (\w+)/.exec(detail);
          if (!m) continue;
          const table = tables.get(m[1]!.toLowerCase()) ?? m[1]!.toLowerCase();
          const index = / USING (?:COVERING )?INDEX (\w+)/.exec(detail)?.[1];
          if (!SCANNABLE.has(table) && !(index && PARTIAL_INDEXES.has(index))) scans.push(`${detail}  ←  ${sql.replace(/\s+/g, ' ')}`);
        }
      }
    } finally {
      raw.close();
    }
    expect(scans).toEqual([]);
    expect(statements.filter((s) => /count\s*\(\s*\*\s*\)[\s\S]*\bFROM\s+messages\b/i.test(s))).toEqual([]);
  });

  it('records where an unlock spends its time, phase by phase, up to the first conversation list', async () => {
    const relay = await startTestRelay();
    const { alice } = await aliceAndBob(relay.url);
    const profileDir = alice.profile.dir;
    await alice.close();
    const again = await reopenService(profileDir, { passphrase: undefined }); // file vault without passphrase: locked
    expect(again.phase).toBe('locked');
    expect(again.startupTimings()).toEqual([]);
    await again.unlock({ passphrase: PASSPHRASE });
    await again.listConversations({});
    await again.listConversations({}); // later lists are not start-up
    const phases = again.startupTimings();
    expect(phases.map((p) => p.phase)).toEqual([
      'vault unlock',
      'identity import',
      'database open',
      'migrations check',
      'profile files',
      'messenger',
      'list query',
    ]);
    expect(phases.every((p) => Number.isFinite(p.ms) && p.ms >= 0)).toBe(true);
  });
});
