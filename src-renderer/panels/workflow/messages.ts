import type { IpcError } from '../../../src-shared/ipc/envelope';
import type { JobFinal } from '../../../src-shared/contracts/jobs';

/** A clear sentence for a refusal: the service's own message, with a hint for the codes a user can act on. */
export function describeError(what: string, error: IpcError): string {
  const hint: Record<string, string> = {
    WORKFLOW_NO_PACK: 'Load a verified model pack above.',
    MODEL_NO_PACK_LOADED: 'Load a verified model pack above.',
    WORKFLOW_NOT_AN_IMAGE: 'Open a greyscale CT or MR series in the left pane.',
    WORKFLOW_TASK_UNAVAILABLE: 'Choose a task the loaded pack offers.',
    DISABLED_BY_POLICY: 'Your administrator turned this off.',
    UNKNOWN_CHANNEL: 'This build of the workstation service does not offer it yet.',
    TRANSPORT: 'The workstation service is not reachable.',
  };
  const disk = /ENOSPC|no space left/i.test(error.message) ? ' The disk is full: free some space or choose another folder.' : '';
  const extra = hint[error.code] && !error.message.includes(hint[error.code]!) ? ` ${hint[error.code]}` : '';
  return `${what}: ${error.message}${disk}${extra}`;
}

/** The final event of a job as an error sentence, or null when it did not fail. */
export function jobFailure(what: string, final: JobFinal): string | null {
  return final.status === 'failed' ? describeError(what, final.error) : null;
}
