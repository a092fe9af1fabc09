// The few runtime globals that both Node and browsers provide and that pure code may use. Declared
// here instead of pulling in the DOM or Node type libraries, which this layer must not see.
declare class TextEncoder {
  encode(input?: string): Uint8Array;
}
declare class TextDecoder {
  constructor(label?: string, options?: { fatal?: boolean });
  decode(input?: ArrayBufferView | ArrayBuffer): string;
}
