/**
 * `verify --confirm`: the digits the user compared with their contact must be the safety number, digit for digit.
 * Spaces (and the line breaks or dashes people copy along) are ignored; anything else is refused, so a typo cannot
 * pass as a confirmation.
 */
export type Confirmation = { ok: true } | { ok: false; reason: string };

export function confirmSafetyNumber(typed: string, safetyNumber: string): Confirmation {
  const digits = typed.replace(/[\s-]+/g, '');
  if (!/^\d+$/.test(digits)) return { ok: false, reason: 'the confirmation must be digits only (spaces allowed)' };
  if (digits.length !== 60) return { ok: false, reason: `a safety number has 60 digits (got ${digits.length})` };
  if (digits !== safetyNumber) return { ok: false, reason: 'the digits do not match the safety number. Compare them again with your contact' };
  return { ok: true };
}
