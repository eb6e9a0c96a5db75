/** `search <query> [--in <ref>] [--json] [--limit N]`: full-text search of the history (the app's Ctrl+Shift+F). */
import type { ConversationId, SearchHit } from '../../contract/api.js';
import { CoreError } from '../../core/messenger/errors.js';
import type { ParleyService } from '../../core/service.js';
import { EXIT, need, type Args } from '../args.js';
import { jsonLine, out } from '../output.js';
import { refConversation } from './groups.js';
import type { CliCommand } from './types.js';

/** How a conversation id is written on the command line: `bob` or `#<groupId>` (what --in and history take). */
export function conversationRef(id: ConversationId): string {
  return id.startsWith('g:') ? `#${id.slice(2)}` : id.slice(2);
}

/**
 * The snippet with each match between `**` (the terminal has no highlight that survives a pipe), ellipses where the
 * text was cut. Newlines become spaces: one hit, one line.
 */
export function highlightSnippet(hit: SearchHit): string {
  const { text, ranges, cutStart, cutEnd } = hit.snippet;
  let s = '';
  let at = 0;
  for (const r of ranges) {
    s += text.slice(at, r.start) + '**' + text.slice(r.start, r.end) + '**';
    at = r.end;
  }
  s += text.slice(at);
  return `${cutStart ? '…' : ''}${s.replace(/\s*[\r\n]+\s*/g, ' ')}${cutEnd ? '…' : ''}`;
}

export function formatHit(hit: SearchHit): string {
  const when = new Date(hit.sentAt).toISOString().replace('T', ' ').slice(0, 19);
  const who = hit.direction === 'in' ? (hit.sender ?? '?') : 'you';
  // The id last, as in history: reply/react/edit/delete take it.
  return `${when} ${conversationRef(hit.conversation)} ${who}: ${highlightSnippet(hit)} #${hit.id}`;
}

async function searchCommand(svc: ParleyService, a: Args): Promise<number> {
  const query = need(a.rest, 1, '<query>').join(' ');
  const ref = a.options.in;
  let conversation: ConversationId | undefined;
  if (ref !== undefined) {
    conversation = refConversation(ref);
    // A typo in --in would otherwise look like "no results".
    if (!(await svc.listConversations()).some((c) => c.id === conversation)) {
      throw new CoreError('NOT_FOUND', `No conversation with ${ref}`);
    }
  }
  const { hits } = await svc.searchMessages({ query, ...(conversation ? { conversation } : {}), ...(a.limit !== null ? { limit: a.limit } : {}) });
  for (const h of hits) {
    if (a.json) jsonLine(h);
    else out(formatHit(h));
  }
  if (!a.json && hits.length === 0) out(`No messages match ${JSON.stringify(query)}${ref !== undefined ? ` with ${ref}` : ''}.`);
  return EXIT.ok;
}

export const SEARCH_COMMANDS: Record<string, CliCommand> = {
  'search': { connect: false, run: searchCommand },
};
