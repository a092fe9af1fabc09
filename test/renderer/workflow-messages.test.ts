import { describe, expect, it } from 'vitest';
import { describeError, joinPath } from '../../src-renderer/panels/workflow/messages';

describe('workflow panel messages', () => {
  it('joins a typed folder and a file name with the folder’s own separator', () => {
    expect(joinPath('/tmp/out/', 'a.md')).toBe('/tmp/out/a.md');
    expect(joinPath('  /tmp/out  ', 'a.md')).toBe('/tmp/out/a.md');
    expect(joinPath('C:\\Users\\me\\exports\\', 'view.png')).toBe('C:\\Users\\me\\exports\\view.png');
    expect(joinPath('C:/data', 'x.dcm')).toBe('C:/data/x.dcm');
  });

  it('keeps the service message and adds what the user can do', () => {
    expect(describeError('Generation failed', { code: 'WORKFLOW_NO_PACK', message: 'No model pack is loaded.' })).toBe('Generation failed: No model pack is loaded. Load a verified model pack above.');
    expect(describeError('DICOM export failed', { code: 'INTERNAL', message: "Internal error: ENOSPC: no space left on device, copyfile 'a' -> 'b'" })).toMatch(
      /no space left on device.* The disk is full: free some space or choose another folder\.$/,
    );
    // A hint already in the message is not repeated.
    expect(describeError('Question failed', { code: 'WORKFLOW_NO_PACK', message: 'None. Load a verified model pack above.' })).toBe('Question failed: None. Load a verified model pack above.');
  });
});
