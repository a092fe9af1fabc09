import { z } from 'zod';
import { event, operation } from '../ipc/define';
import { ipcErrorSchema } from '../ipc/envelope';

export const jobIdSchema = z.string().regex(/^job-[A-Za-z0-9-]{6,64}$/, 'not a job id');
export type JobId = z.infer<typeof jobIdSchema>;

export const jobErrorCodes = {
  /** Too many jobs are waiting: start was refused, nothing was started. */
  queueFull: 'JOB_QUEUE_FULL',
} as const;

/** 'queued': accepted, waiting for a free place among the running jobs of its kind. */
export const jobStateSchema = z.enum(['queued', 'running', 'done', 'failed', 'cancelled']);
export type JobState = z.infer<typeof jobStateSchema>;

/** What a start operation returns: the id to match events and to cancel with. */
export const jobStartedSchema = z.object({ jobId: jobIdSchema, kind: z.string() });
export type JobStarted = z.infer<typeof jobStartedSchema>;

export const jobProgressSchema = z.object({
  jobId: jobIdSchema,
  kind: z.string(),
  done: z.number().nonnegative(),
  total: z.number().nonnegative(),
  message: z.string().optional(),
  /** Text produced since the previous progress event (streamed answers); throttling concatenates. */
  appendText: z.string().optional(),
  etaSeconds: z.number().nonnegative().optional(),
  /** Domain data, validated by the domain's own schema for this job kind. */
  data: z.unknown().optional(),
  /** Sent when the job is queued ('queued', with its place in the queue) and when it leaves the queue ('running'). */
  state: z.enum(['queued', 'running']).optional(),
  queuePosition: z.number().int().positive().optional(),
});
export type JobProgress = z.infer<typeof jobProgressSchema>;

export const jobFinalSchema = z.discriminatedUnion('status', [
  z.object({ jobId: jobIdSchema, kind: z.string(), status: z.literal('done'), result: z.unknown() }),
  z.object({ jobId: jobIdSchema, kind: z.string(), status: z.literal('failed'), error: ipcErrorSchema }),
  z.object({ jobId: jobIdSchema, kind: z.string(), status: z.literal('cancelled'), result: z.unknown().optional() }),
]);
export type JobFinal = z.infer<typeof jobFinalSchema>;

export const jobSummarySchema = z.object({
  jobId: jobIdSchema,
  kind: z.string(),
  state: jobStateSchema,
  startedAt: z.number(),
  done: z.number(),
  total: z.number(),
});
export type JobSummary = z.infer<typeof jobSummarySchema>;

export const jobsContract = {
  cancel: operation('jobs:cancel', z.object({ jobId: jobIdSchema }).strict(), z.object({ cancelled: z.boolean() })),
  list: operation('jobs:list', z.object({}).strict(), z.array(jobSummarySchema)),
  /** A demonstration job of N steps: exercises the protocol end to end (tests, bench, the job bar). */
  startSelfTest: operation(
    'jobs:start-self-test',
    z.object({ steps: z.number().int().min(1).max(10_000), stepMs: z.number().int().min(0).max(1000), failAt: z.number().int().optional() }).strict(),
    jobStartedSchema,
  ),
} as const;

export const jobEvents = {
  progress: event('jobs:progress', jobProgressSchema),
  final: event('jobs:final', jobFinalSchema),
} as const;
