/** `verify --confirm`: only the exact 60 digits (spaces allowed) confirm a safety number. */
import { describe, expect, test } from 'vitest';
import { confirmSafetyNumber } from '../../electron/cli/confirm.js';

const SN = '123456789012345678901234567890123456789012345678901234567890';

describe('confirmSafetyNumber', () => {
  test('accepts the digits with or without grouping', () => {
    expect(confirmSafetyNumber(SN, SN)).toEqual({ ok: true });
    expect(confirmSafetyNumber(SN.match(/.{5}/g)!.join(' '), SN)).toEqual({ ok: true });
    expect(confirmSafetyNumber(`  ${SN.match(/.{5}/g)!.join('\n')}  `, SN)).toEqual({ ok: true });
  });

  test('refuses a different, short, long or non-digit confirmation', () => {
    expect(confirmSafetyNumber(SN.slice(0, 59) + '1', SN)).toMatchObject({ ok: false, reason: expect.stringMatching(/do not match/) });
    expect(confirmSafetyNumber(SN.slice(0, 59), SN)).toMatchObject({ ok: false, reason: expect.stringMatching(/60 digits \(got 59\)/) });
    expect(confirmSafetyNumber(SN + '0', SN)).toMatchObject({ ok: false });
    expect(confirmSafetyNumber('yes', SN)).toMatchObject({ ok: false, reason: expect.stringMatching(/digits only/) });
    expect(confirmSafetyNumber('', SN)).toMatchObject({ ok: false });
  });
});
