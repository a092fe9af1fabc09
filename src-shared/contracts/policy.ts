import { z } from 'zod';
import { operation } from '../ipc/define';
import { pacsPolicySchema } from './pacs';

/**
 * The machine-wide policy file hospital IT deploys (see docs/it-deployment.md). Unknown keys are errors,
 * not ignored: a misspelt setting must never silently leave a workstation less restricted than intended.
 */

/** Tasks the workstation knows; a policy may disable any of them (ids are stable across versions). */
export const KNOWN_TASKS = ['ask', 'report', 'sr', 'ct2mri', 'mri2ct', 'recon', 'denoise', 'report2cxr'] as const;

const taskIdSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'a task id is lower-case letters, digits and dashes (e.g. "ct2mri")');

/** A pack id, optionally pinned to one version: "healthgpt-nano" or "healthgpt-nano@0.1.0". */
const packRefSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(@[A-Za-z0-9][A-Za-z0-9.+_-]{0,63})?$/, 'a pack reference is "<pack id>" or "<pack id>@<version>"');

/**
 * Ed25519 public key: PEM (SPKI) or the 32 raw key bytes in base64. Parsed for real by main. Same shape as
 * an entry of the app's trusted-keys file (src-shared/contracts/model-pack.ts), so IT can copy entries.
 */
export const trustedKeySchema = z
  .object({
    keyId: z.string().min(1).max(128),
    publicKey: z.string().min(40).max(4096),
    comment: z.string().max(1000).optional(),
  })
  .strict();

/** A folder path: absolute on the platform it runs on (main checks that), placeholders ${user} / ${home}. */
const folderSchema = z.string().min(1).max(1024);

export const machinePolicySchema = z
  .object({
    /** Documentation aid: ignored by the app, allowed so IT can annotate the file. */
    $comment: z.string().max(4000).optional(),
    /** Where studies, history and artifacts live (e.g. a managed local drive). */
    dataDir: folderSchema.optional(),
    /** Only these packs may load. Absent: any pack that passes verification. Empty: none. */
    allowedPacks: z.array(packRefSchema).max(256).optional(),
    /** Refuse packs whose manifest is not signed by one of trustedKeys. */
    requirePackSignature: z.boolean().optional(),
    /** When listed, these are the only keys trusted to sign packs (they replace the app's own list). */
    trustedKeys: z.array(trustedKeySchema).max(64).optional(),
    /** Turn off every export (DICOM, PNG, report text) from this workstation. */
    disableExport: z.boolean().optional(),
    /** Refuse to export a generated series a person rejected (unreviewed ones still export after confirmation). */
    disableRejectedExport: z.boolean().optional(),
    disabledTasks: z.array(taskIdSchema).max(64).optional(),
    /** A copy of every audit record is appended to this file (JSON lines), e.g. on a monitored share. */
    auditLogPath: z.string().min(1).max(1024).optional(),
    /** Updates stay off unless this names the only URL they may come from (https only). */
    updateUrl: z
      .string()
      .url()
      .refine((u) => u.startsWith('https://'), 'updateUrl must be an https:// address')
      .optional(),
    /** PACS nodes IT pins (with their credentials) and node names or hosts no one may use. */
    pacs: pacsPolicySchema.optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.requirePackSignature && (p.trustedKeys?.length ?? 0) === 0) {
      ctx.addIssue({ code: 'custom', path: ['trustedKeys'], message: 'requirePackSignature is true but no trustedKeys are listed, so no pack could ever load' });
    }
    const ids = new Set<string>();
    for (const key of p.trustedKeys ?? []) {
      if (ids.has(key.keyId)) ctx.addIssue({ code: 'custom', path: ['trustedKeys'], message: `trusted key id "${key.keyId}" appears twice` });
      ids.add(key.keyId);
    }
  });
export type MachinePolicy = z.infer<typeof machinePolicySchema>;

/** What the renderer may know about the policy in force (no key material). */
export const policyStatusSchema = z.object({
  /** The file read, or null when no policy file exists. */
  source: z.string().nullable(),
  locked: z.boolean(),
  messages: z.array(z.string()),
  disableExport: z.boolean(),
  disableRejectedExport: z.boolean(),
  disabledTasks: z.array(z.string()),
  allowedPacks: z.array(z.string()).nullable(),
  requirePackSignature: z.boolean(),
  trustedKeyIds: z.array(z.string()),
  dataDir: z.string().nullable(),
  auditLogPath: z.string().nullable(),
  updateUrl: z.string().nullable(),
});
export type PolicyStatus = z.infer<typeof policyStatusSchema>;

export const policyErrorCodes = {
  disabledByPolicy: 'DISABLED_BY_POLICY',
  policyLocked: 'POLICY_LOCKED',
} as const;

export const policyContract = {
  get: operation('policy:get', z.object({}).strict(), policyStatusSchema),
} as const;
