/**
 * queue-pg (issue 15): the PostgreSQL store's enqueue throughput against the SQLite store's, in the same run, with the
 * same durability (SQLite: WAL, synchronous=FULL; PostgreSQL: fsync and synchronous_commit on, its defaults). Both
 * in process, both with the relay's group commit (PostgreSQL: batches up to 256 or 2 ms, 4 transactions in flight),
 * the same envelopes (~1.8 KB JSON) to 1 024 recipients, 512 enqueues in flight. Target: PostgreSQL ≥ 0.7 × SQLite.
 * Every PostgreSQL resolution of a check pass is looked up from a second connection (only committed rows are seen).
 *
 * PostgreSQL is a private server (tests/helpers/postgres.ts: initdb in a temp folder, 127.0.0.1, never the system
 * service); without Debian's postgresql package the benchmark reports "not measured".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { median, notMeasured, now, row, tryImport, type Bench } from './lib/common.js';
import { unsignedEnvelope } from './lib/envelopes.js';
import type { Envelope } from '../relay/protocol/index.js';
import { postgresAvailable, startPostgres } from '../tests/helpers/postgres.js';

interface Store {
  enqueue(i: { envelope: Envelope; body?: string; size: number; receivedAt: number; expiresAt: number }): Promise<{ duplicate: boolean }>;
  stats(): Promise<{ commits: number; committedWrites: number }>;
  close(): Promise<void>;
}
interface SqliteModule {
  SqliteEnvelopeStore: new (dataDir: string) => Store & { ready(): Promise<void> };
}
interface PgModule {
  PgEnvelopeStore: new (url: string, opts?: { quota?: { count: number; bytes: number } }) => Store & { ready(): Promise<void> };
}

const RECIPIENTS = 1024;
const WINDOW = 512;

function makeEnvelopes(n: number): Envelope[] {
  const parties = Array.from({ length: RECIPIENTS }, (_, i) => i.toString(16).padStart(64, '0'));
  return Array.from({ length: n }, (_, i) => ({ ...unsignedEnvelope(parties[i % RECIPIENTS]!, parties[(i * 7 + 1) % RECIPIENTS]!), sig: 'A'.repeat(86) }));
}

/** Enqueue everything with WINDOW in flight; returns envelopes/s, and how many resolved before `committed` saw them. */
async function drive(store: Store, envs: Envelope[], committed?: (e: Envelope) => Promise<boolean>): Promise<{ rate: number; early: number }> {
  let next = 0;
  let early = 0;
  const t0 = now();
  const lane = async (): Promise<void> => {
    while (next < envs.length) {
      const e = envs[next++]!;
      const body = JSON.stringify(e);
      await store.enqueue({ envelope: e, body, size: body.length, receivedAt: Date.now(), expiresAt: Date.now() + 86_400_000 });
      if (committed && !(await committed(e))) early++;
    }
  };
  await Promise.all(Array.from({ length: WINDOW }, lane));
  return { rate: (envs.length * 1000) / (now() - t0), early };
}

export const queuePgBench: Bench = async (o) => {
  const id = 'queue-pg';
  const title = 'Relay queue on PostgreSQL vs SQLite (same durability, group commit both)';
  const n = o.quick ? 5000 : 20000;
  const target = 'ratio ≥ 0.7';
  if (!postgresAvailable()) return notMeasured(id, title, 'PostgreSQL 15 binaries not installed (Debian package postgresql)');
  const sq = await tryImport<SqliteModule>('relay/server/store/sqlite.ts');
  const pm = await tryImport<PgModule>('relay/server/store/pg.ts');
  if (!sq.mod || !pm.mod) return notMeasured(id, title, `relay store: ${sq.error ?? pm.error}`);
  const { SqliteEnvelopeStore } = sq.mod;
  const { PgEnvelopeStore } = pm.mod;
  const root = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-queue-pg-'));
  const server = await startPostgres();
  try {
    let db = 0;
    const pgRun = async (envs: Envelope[], check: boolean) => {
      const url = await server.createDatabase(`bench${db++}`);
      // the relay's quota check runs in the inserting transaction: keep it in the measured path
      const store = new PgEnvelopeStore(url, { quota: { count: 10_000, bytes: 256 * 1024 * 1024 } });
      await store.ready();
      const reader = check ? new pg.Pool({ connectionString: url, max: 4 }) : null;
      const seen = reader
        ? async (e: Envelope) => ((await reader.query('SELECT 1 FROM envelopes WHERE sender = $1 AND id = $2', [e.from, e.id])).rowCount ?? 0) > 0
        : undefined;
      const r = await drive(store, envs, seen);
      const st = await store.stats();
      await reader?.end();
      await store.close();
      return { ...r, commits: st.commits };
    };
    const sqliteRun = async (envs: Envelope[]) => {
      const store = new SqliteEnvelopeStore(mkdtempSync(path.join(root, 's')));
      await store.ready();
      const r = await drive(store, envs);
      await store.close();
      return r.rate;
    };
    // alternate (fsync speed on a shared machine drifts); the ratio is the median of per-run ratios
    const sqliteRates: number[] = [];
    const pgRates: number[] = [];
    const ratios: number[] = [];
    const commits: number[] = [];
    for (let r = 0; r < o.runs; r++) {
      const s = await sqliteRun(makeEnvelopes(n));
      const p = await pgRun(makeEnvelopes(n), false);
      sqliteRates.push(s);
      pgRates.push(p.rate);
      commits.push(p.commits);
      ratios.push(p.rate / s);
      o.log(`queue-pg run ${r + 1}: SQLite ${s.toFixed(0)} env/s, PostgreSQL ${p.rate.toFixed(0)} env/s`);
    }
    const checked = await pgRun(makeEnvelopes(o.quick ? 1000 : 3000), true);
    const ratio = median(ratios);
    return {
      id,
      title,
      rows: [
        row({ metric: 'enqueue throughput', unit: 'env/s', parley: median(pgRates), baseline: median(sqliteRates), ratio, target, met: ratio >= 0.7, baselineLabel: 'SQLite store, sync=FULL' }),
        row({ metric: 'enqueues resolved before commit', unit: 'count', parley: checked.early, baseline: null, target: '= 0', met: checked.early === 0 }),
        row({ metric: 'envelopes per commit', unit: 'avg', parley: n / median(commits), baseline: null, target: 'info', met: null }),
      ],
      notes: [`${WINDOW} enqueues in flight to ${RECIPIENTS} recipients; ratio = median of per-run ratios (the stores alternate)`],
      details: { sqliteRates, pgRates, ratios, commits, checked },
    };
  } finally {
    server.stop();
    rmSync(root, { recursive: true, force: true });
  }
};
