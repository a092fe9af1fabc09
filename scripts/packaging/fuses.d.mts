export declare const FUSE_ENABLE: 49;
export declare const FUSE_DISABLE: 48;
export declare const FUSE_REMOVED: 114;
export declare const WORKSTATION_FUSES: Readonly<Record<string, boolean>>;
export declare function packagedExecutable(input: { platform: string; appOutDir: string; productFilename: string; executableName: string }): string;
export declare function checkFuses(executable: string): Promise<string[]>;
export declare function applyWorkstationFuses(executable: string, options?: { resetAdHocDarwinSignature?: boolean }): Promise<void>;
