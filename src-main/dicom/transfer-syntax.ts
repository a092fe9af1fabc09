/** Transfer syntaxes we read, with how their pixel data is encoded. */
export type PixelEncoding =
  | 'native'
  | 'rle'
  | 'jpeg-baseline'
  | 'jpeg-lossless'
  | 'jpeg-ls'
  | 'jpeg2000'
  | 'htj2k'
  | 'encapsulated-native';

export interface TransferSyntaxInfo {
  uid: string;
  name: string;
  encoding: PixelEncoding;
  bigEndian: boolean;
  explicitVr: boolean;
  deflated: boolean;
}

const ts = (uid: string, name: string, encoding: PixelEncoding, extra: Partial<TransferSyntaxInfo> = {}): TransferSyntaxInfo => ({
  uid,
  name,
  encoding,
  bigEndian: false,
  explicitVr: true,
  deflated: false,
  ...extra,
});

export const TRANSFER_SYNTAXES: ReadonlyMap<string, TransferSyntaxInfo> = new Map(
  [
    ts('1.2.840.10008.1.2', 'Implicit VR Little Endian', 'native', { explicitVr: false }),
    ts('1.2.840.10008.1.2.1', 'Explicit VR Little Endian', 'native'),
    ts('1.2.840.10008.1.2.1.99', 'Deflated Explicit VR Little Endian', 'native', { deflated: true }),
    ts('1.2.840.10008.1.2.2', 'Explicit VR Big Endian', 'native', { bigEndian: true }),
    ts('1.2.840.10008.1.2.1.98', 'Encapsulated Uncompressed Explicit VR Little Endian', 'encapsulated-native'),
    ts('1.2.840.10008.1.2.5', 'RLE Lossless', 'rle'),
    ts('1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)', 'jpeg-baseline'),
    ts('1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 & 4)', 'jpeg-baseline'),
    ts('1.2.840.10008.1.2.4.57', 'JPEG Lossless, Non-Hierarchical (Process 14)', 'jpeg-lossless'),
    ts('1.2.840.10008.1.2.4.70', 'JPEG Lossless, First-Order Prediction (Process 14, SV1)', 'jpeg-lossless'),
    ts('1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless', 'jpeg-ls'),
    ts('1.2.840.10008.1.2.4.81', 'JPEG-LS Near-Lossless', 'jpeg-ls'),
    ts('1.2.840.10008.1.2.4.90', 'JPEG 2000 Lossless', 'jpeg2000'),
    ts('1.2.840.10008.1.2.4.91', 'JPEG 2000', 'jpeg2000'),
    ts('1.2.840.10008.1.2.4.201', 'HTJ2K Lossless', 'htj2k'),
    ts('1.2.840.10008.1.2.4.202', 'HTJ2K Lossless RPCL', 'htj2k'),
    ts('1.2.840.10008.1.2.4.203', 'HTJ2K', 'htj2k'),
  ].map((t) => [t.uid, t]),
);

export function describeTransferSyntax(uid: string): string {
  return TRANSFER_SYNTAXES.get(uid)?.name ?? `unknown transfer syntax ${uid}`;
}
