/**
 * Links in messages: which text becomes a link (renderer linkify), and which addresses may leave the app (the
 * renderer's check and the main process's own, electron/main/links.ts): only http, https and mailto.
 */
import { describe, expect, it } from 'vitest';
import { isMessageLink } from '../../electron/main/links.js';
import { isOpenableLink, splitLinks } from '../../renderer/src/screens/chat/actions/links.js';

const links = (s: string) => splitLinks(s).filter((p) => p.kind === 'link').map((p) => p.text);

describe('message links', () => {
  it('finds http, https and mailto links and leaves sentence punctuation out', () => {
    expect(links('see https://example.org/a?b=1, then http://x.test.')).toEqual(['https://example.org/a?b=1', 'http://x.test']);
    expect(links('(https://en.wikipedia.org/wiki/Foo_(bar))')).toEqual(['https://en.wikipedia.org/wiki/Foo_(bar)']);
    expect(links('write to mailto:bob@example.org!')).toEqual(['mailto:bob@example.org']);
    expect(links('no file:///etc/passwd or javascript:alert(1) or ftp://x')).toEqual([]);
    expect(links('just https:// alone')).toEqual([]);
  });

  it('keeps every character of the text across the parts', () => {
    const s = 'a https://e.org/x. b mailto:c@d.e (https://f.g/h)';
    expect(splitLinks(s).map((p) => p.text).join('')).toBe(s);
  });

  it('opens only http, https and mailto, without credentials, in both processes', () => {
    for (const check of [isOpenableLink, isMessageLink]) {
      expect(check('https://example.org/path')).toBe(true);
      expect(check('http://192.168.1.2:8080/')).toBe(true);
      expect(check('mailto:bob@example.org')).toBe(true);
      expect(check('file:///etc/passwd')).toBe(false);
      expect(check('javascript:alert(1)')).toBe(false);
      expect(check('ms-settings:privacy')).toBe(false);
      expect(check('https://user:pw@example.org/')).toBe(false);
      expect(check('not a url')).toBe(false);
    }
  });
});
