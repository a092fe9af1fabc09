/** The `dicom` contract at the process edge: each operation is one call into the DicomService. */
import type { dicomContract } from '../../src-shared/contracts/dicom';
import type { DomainHandlers } from '../ipc/registry';
import type { DicomService } from './dicom-service';

export function createDicomHandlers(dicom: DicomService): DomainHandlers<typeof dicomContract> {
  return {
    import: ({ paths }, ctx) => dicom.import(paths, ctx.sink),
    listStudies: () => dicom.listStudies(),
    getSeries: ({ seriesUid }) => dicom.getSeries(seriesUid),
    getFrame: ({ seriesUid, index }) => dicom.getFrame(seriesUid, index),
    probe: ({ paths }) => dicom.probe(paths),
  };
}
