/**
 * i18next set up once for the renderer. Catalogs are bundled (no network, no backend). The language is the OS
 * language by default (navigator.language is the OS locale in Electron) or the one chosen in Settings, which is
 * kept in this window's localStorage: a display preference, not profile data, so the core and contract stay as
 * they are.
 */
import i18next from 'i18next';
import { initReactI18next } from 'react-i18next';
import { de } from './de.js';
import { en } from './en.js';

export const LANGUAGES = ['en', 'de'] as const;
export type Language = (typeof LANGUAGES)[number];
export type LanguageChoice = Language | 'system';

const STORAGE_KEY = 'parley.language';

/** The supported language closest to the given locale list; English when none fits. */
export function pickLanguage(locales: readonly string[]): Language {
  for (const l of locales) {
    const base = l.toLowerCase().split(/[-_]/)[0];
    if ((LANGUAGES as readonly string[]).includes(base ?? '')) return base as Language;
  }
  return 'en';
}

export function savedChoice(): LanguageChoice {
  try {
    const v = globalThis.localStorage?.getItem(STORAGE_KEY);
    return v === 'en' || v === 'de' ? v : 'system';
  } catch {
    return 'system';
  }
}

function systemLanguage(): Language {
  const nav = globalThis.navigator;
  return pickLanguage(nav ? [...(nav.languages ?? []), nav.language].filter(Boolean) : []);
}

export function resolveChoice(c: LanguageChoice): Language {
  return c === 'system' ? systemLanguage() : c;
}

export const i18n = i18next.createInstance();
void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, de: { translation: de } },
  lng: resolveChoice(savedChoice()),
  fallbackLng: 'en',
  supportedLngs: [...LANGUAGES],
  interpolation: { escapeValue: false }, // React escapes
  returnNull: false,
  initAsync: false,
});
// The page language drives screen-reader pronunciation and hyphenation.
const setPageLang = (l: string): void => {
  if (typeof document !== 'undefined') document.documentElement.lang = l;
};
setPageLang(i18n.language);
i18n.on('languageChanged', setPageLang);

export async function chooseLanguage(c: LanguageChoice): Promise<void> {
  try {
    if (c === 'system') globalThis.localStorage?.removeItem(STORAGE_KEY);
    else globalThis.localStorage?.setItem(STORAGE_KEY, c);
  } catch {
    // Storage refused (private mode): the choice holds for this session only.
  }
  await i18n.changeLanguage(resolveChoice(c));
}

export const t = i18n.t.bind(i18n);
