export declare function signingOverrides(env?: Record<string, string | undefined>): Record<string, unknown>;
export declare function toCliArgs(config: Record<string, unknown>, prefix?: string): string[];
