/** Deutscher Katalog: dieselben Schlüssel wie en.ts. */
import type { Catalog } from './en.js';
import { errorsDe } from './errors-de.js';

export const de: Catalog = {
  errors: errorsDe,
  error: {
    details: 'Details: {{code}}',
  },
  composer: {
    label: 'Nachricht an {{name}}',
    placeholder: 'Nachricht an {{name}}',
    hint: 'Eingabe sendet, Umschalt+Eingabe fügt eine neue Zeile ein.',
    send: 'Senden',
    left_one: 'Noch {{count}} Zeichen',
    left_other: 'Noch {{count}} Zeichen',
    over_one: '{{count}} Zeichen zu lang: kürze die Nachricht, um sie zu senden',
    over_other: '{{count}} Zeichen zu lang: kürze die Nachricht, um sie zu senden',
  },
  message: {
    notSent: 'Nicht gesendet',
    retry: 'Erneut versuchen',
    undecryptable: 'Diese Nachricht konnte nicht entschlüsselt werden',
    undecryptableLabel: 'Nachricht konnte nicht entschlüsselt werden: {{reason}}',
  },
};
