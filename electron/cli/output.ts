/** What the CLI prints (one line per result, JSON lines with --json) and how it asks for passphrases. */
import type { MessageView } from '../contract/api.js';
import { askHidden } from './prompt.js';

/** A passphrase from the environment, else asked on a terminal (hidden), else undefined. */
export async function passphrase(envName: string, prompt: string, fallbackEnv?: string): Promise<string | undefined> {
  const v = process.env[envName] ?? (fallbackEnv ? process.env[fallbackEnv] : undefined);
  if (v !== undefined && v !== '') return v;
  if (process.stdin.isTTY) return askHidden(prompt);
  return undefined;
}

export function out(line: string): void {
  process.stdout.write(line + '\n');
}

export function jsonLine(o: unknown): void {
  process.stdout.write(JSON.stringify(o) + '\n');
}

/** A message's files as the CLI lists them: index (for save-attachment), name, size in bytes, media type. */
export function listedAttachments(m: MessageView): Array<{ index: number; name: string; size: number; type: string }> | undefined {
  return m.attachments?.map(({ index, name, size, type }) => ({ index, name, size, type }));
}

export function formatMessage(m: MessageView): string {
  const when = new Date(m.sentAt).toISOString().replace('T', ' ').slice(0, 19);
  const arrow = m.direction === 'in' ? `<- ${m.contact}` : `-> ${m.contact}`;
  const body = m.deleted ? '[This message was deleted]' : (m.body ?? (m.state === 'undecryptable' ? `[undecryptable: ${m.error ?? 'unknown reason'}]` : '[deleted]'));
  const quote = m.replyTo ? ` [reply to ${m.replyTo.author}: "${m.replyTo.excerpt}"]` : '';
  const edited = m.edited && !m.deleted ? ' (edited)' : '';
  const reactions = Object.entries(m.reactions ?? {}).map(([e, who]) => `${e} ${who.join(',')}`);
  const files = (m.attachments ?? []).map((a) => ` [file ${a.index}: ${a.name}, ${a.size} bytes, ${a.type}${a.state === 'failed' ? `, failed: ${a.error ?? 'unknown reason'}` : ''}]`).join('');
  // The id last, for reply/react/edit/delete.
  return `${when} ${arrow} [${m.state}] ${body}${files}${edited}${reactions.length ? ` {${reactions.join('; ')}}` : ''}${quote} #${m.id}`;
}
