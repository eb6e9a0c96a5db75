/** Copies text to the clipboard from a click handler (the shell allows only sanitized clipboard writes). */
export async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard permission (e.g. a plain browser page): the selection-based copy still works on a click.
    const area = document.createElement('textarea');
    area.value = text;
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    if (!ok) throw new Error('Could not copy to the clipboard.');
  }
}
