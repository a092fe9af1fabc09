/**
 * Questions a pack was trained on (manifest tasks.vqa.questionTypes) and the demonstration warning of a
 * drafted report. Shared by main (the note recorded with the answer) and the window (the Ask box's offer).
 */

export interface QuestionType {
  type: string;
  questions: string[];
}

const norm = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s]/gu, '')
    .split(/\s+/)
    .filter(Boolean)
    .join(' ');

/** The trained type of a question (same words as a trained phrasing, case and punctuation aside), or null. */
export function trainedQuestionType(question: string, types: readonly QuestionType[]): string | null {
  const q = norm(question);
  for (const t of types) if (t.questions.some((x) => norm(x) === q)) return t.type;
  return null;
}

/** The visible note for a question outside the pack's trained types (null when it is one of them or none are declared). */
export function untrainedQuestionNote(question: string, types: readonly QuestionType[] | undefined): string | null {
  if (!types || types.length === 0 || trainedQuestionType(question, types)) return null;
  return `The demonstration model was not trained for this question; its answer means nothing. It was trained only on: ${types.map((t) => t.type).join(', ')}.`;
}

/** Put inside the text of every report drafted by a demonstration model, so the warning travels with the text. */
export const DEMONSTRATION_REPORT_WARNING =
  'DEMONSTRATION MODEL, NOT FOR CLINICAL USE: drafted by a small demonstration model trained on a few public images; its findings may be invented.';

/**
 * What a comprehension answer carries beside the model's own words, the same in the window and the CLI:
 * a demonstration pack's report starts with the warning (inside the text, so it travels when copied or
 * exported), and a question outside the trained types gets the note.
 */
export function answerFraming(
  pack: { intendedUse: { demonstration: boolean }; tasks: { vqa?: { questionTypes?: QuestionType[] | undefined } | undefined } },
  task: 'vqa' | 'report',
  question: string,
): { banner: string; note: string | null } {
  return {
    banner: task === 'report' && pack.intendedUse.demonstration ? `${DEMONSTRATION_REPORT_WARNING}\n\n` : '',
    note: task === 'vqa' ? untrainedQuestionNote(question, pack.tasks.vqa?.questionTypes) : null,
  };
}
