/** English catalog: the source of truth for keys. de.ts must have exactly the same keys (tests/unit/renderer-i18n.test.ts). */
import { errorsEn } from './errors-en.js';

export const en = {
  errors: errorsEn,
  error: {
    details: 'Details: {{code}}',
  },
  composer: {
    label: 'Message to {{name}}',
    placeholder: 'Message {{name}}',
    hint: 'Enter sends, Shift+Enter adds a new line.',
    send: 'Send',
    left_one: '{{count}} character left',
    left_other: '{{count}} characters left',
    over_one: 'Too long by {{count}} character: shorten it to send',
    over_other: 'Too long by {{count}} characters: shorten it to send',
  },
  message: {
    notSent: 'Not sent',
    retry: 'Retry',
    undecryptable: 'This message could not be decrypted',
    undecryptableLabel: 'Message could not be decrypted: {{reason}}',
  },
};

/** A catalog with the same shape as English, every leaf a string. */
export type Catalog = { [K in keyof typeof en]: { [L in keyof (typeof en)[K]]: string } };
