/** The renderer repeats the attachment limits (it imports only types from the contract): they must stay equal. */
import { describe, expect, it } from 'vitest';
import * as contract from '../../electron/contract/attachments.js';
import * as descriptor from '../../electron/core/attachments/descriptor.js';
import * as renderer from '../../renderer/src/screens/chat/attachments/limits.js';

describe('attachment limits', () => {
  it('are the same in the renderer, the contract and the descriptor rules', () => {
    expect(renderer.MAX_ATTACHMENT_BYTES).toBe(contract.MAX_ATTACHMENT_BYTES);
    expect(renderer.STAGE_CHUNK_BYTES).toBe(contract.STAGE_CHUNK_BYTES);
    expect(renderer.MAX_ATTACHMENTS_PER_MESSAGE).toBe(contract.MAX_ATTACHMENTS_PER_MESSAGE);
    expect(renderer.MAX_THUMBNAIL_BYTES).toBe(contract.MAX_THUMBNAIL_BYTES);
    expect(contract.MAX_ATTACHMENTS_PER_MESSAGE).toBe(descriptor.MAX_ATTACHMENTS);
    expect(contract.MAX_THUMBNAIL_BYTES).toBe(descriptor.MAX_THUMBNAIL_BYTES);
  });
  it('names executable types for the Open warning, by extension', () => {
    for (const n of ['setup.exe', 'run.sh', 'x.BAT', 'page.html', 'noextension']) expect(contract.isExecutableName(n), n).toBe(true);
    for (const n of ['photo.jpg', 'paper.pdf', 'notes.txt']) expect(contract.isExecutableName(n), n).toBe(false);
  });
});
