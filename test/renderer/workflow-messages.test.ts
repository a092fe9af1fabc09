import { describe, expect, it } from 'vitest';
import { describeError } from '../../src-renderer/panels/workflow/messages';

describe('workflow panel messages', () => {
  it('keeps the service message and adds what the user can do', () => {
    expect(describeError('Generation failed', { code: 'WORKFLOW_NO_PACK', message: 'No model pack is loaded.' })).toBe('Generation failed: No model pack is loaded. Load a verified model pack above.');
    expect(describeError('DICOM export failed', { code: 'INTERNAL', message: "Internal error: ENOSPC: no space left on device, copyfile 'a' -> 'b'" })).toMatch(
      /no space left on device.* The disk is full: free some space or choose another folder\.$/,
    );
    // A hint already in the message is not repeated.
    expect(describeError('Question failed', { code: 'WORKFLOW_NO_PACK', message: 'None. Load a verified model pack above.' })).toBe('Question failed: None. Load a verified model pack above.');
  });
});
