/**
 * What a person reads about a task (its label) and what a task expects of its input (the source modality
 * of a conversion). Shared by main (the guard, the derived series' description, history) and the window.
 */

const TASK_LABELS: Record<string, string> = {
  vqa: 'Question (VQA)',
  report: 'Draft report',
  sr: '4× super-resolution',
  ct2mri: 'CT → MRI synthesis',
  mri2ct: 'MRI → CT synthesis',
  recon: 'Reconstruction',
};

/** The human name of a task id ("ct2mri" → "CT → MRI synthesis"); an unknown id is shown as it is. */
export function taskDisplayLabel(task: string): string {
  return TASK_LABELS[task] ?? task;
}

/** Tasks that read one modality only: a conversion from CT reads CT, from MR reads MR. Others read either. */
const SOURCE_MODALITY: Record<string, 'CT' | 'MR'> = { ct2mri: 'CT', mri2ct: 'MR' };

export function taskSourceModality(task: string): 'CT' | 'MR' | null {
  return SOURCE_MODALITY[task] ?? null;
}

/**
 * Null when `task` may read a series of `modality`; otherwise the sentence that says why not. A series
 * of unknown modality (no Modality attribute, a PNG) is not refused: there is nothing to compare.
 */
export function modalityMismatch(task: string, modality: string | null | undefined): string | null {
  const expected = taskSourceModality(task);
  const actual = (modality ?? '').trim().toUpperCase();
  if (!expected || !actual || actual === expected) return null;
  return `${taskDisplayLabel(task)} reads ${expected} images, but this series is ${actual}: its output would mean nothing. Choose a ${expected} series, or override explicitly (the override is recorded with the run).`;
}

/**
 * What history shows as the question of a run: the person's own question for a question or report,
 * the task's name for a generation run (its prompt is the model's template, not something anyone typed).
 */
export function runQuestionText(run: { task: string; prompt: string }): { label: 'Q' | 'Task'; text: string } {
  if (run.task === 'vqa' || run.task === 'report') return { label: 'Q', text: run.prompt };
  return { label: 'Task', text: taskDisplayLabel(run.task) };
}
