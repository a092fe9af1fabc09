// The slice of dcmjs (no bundled types) that the main process uses to read source attributes and to write
// derived series.
declare module 'dcmjs' {
  interface DicomDictInstance {
    dict: Record<string, unknown>;
    meta: Record<string, unknown>;
    write(options?: Record<string, unknown>): ArrayBuffer;
  }
  const dcmjs: {
    data: {
      DicomMessage: {
        readFile(buffer: ArrayBuffer, options?: { untilTag?: string; ignoreErrors?: boolean }): { dict: Record<string, unknown>; meta: Record<string, unknown> };
      };
      DicomDict: new (meta: Record<string, unknown>) => DicomDictInstance;
      DicomMetaDictionary: {
        naturalizeDataset(dict: Record<string, unknown>): Record<string, unknown>;
        denaturalizeDataset(dataset: Record<string, unknown>): Record<string, unknown>;
        uid(): string;
      };
    };
  };
  export default dcmjs;
}
