import { describe, expect, it } from 'vitest';
import type { Frame } from '../../src-shared/contracts/dicom';
import { displayPixels, frameToImage, imageIdFor, parseImageId } from '../../src-renderer/viewer/image-loader';

function frame(over: Partial<Frame>): Frame {
  return {
    seriesUid: '1.2.3',
    index: 0,
    count: 1,
    sopInstanceUid: '1.2.3.4',
    sopClassUid: '1.2.840.10008.5.1.4.1.1.2',
    instanceNumber: 1,
    frame: 0,
    transferSyntax: '1.2.840.10008.1.2.1',
    rows: 2,
    columns: 3,
    samplesPerPixel: 1,
    photometric: 'MONOCHROME2',
    color: false,
    invert: false,
    bitsAllocated: 16,
    bitsStored: 12,
    pixelRepresentation: 0,
    pixels: new Uint16Array([0, 1024, 2048, 3000, 4095, 10]),
    minPixelValue: 0,
    maxPixelValue: 4095,
    rescaleSlope: 1,
    rescaleIntercept: -1024,
    rescaleType: 'HU',
    windows: [],
    voiLutFunction: 'LINEAR',
    voiLut: null,
    pixelSpacing: [0.5, 0.7],
    pixelSpacingSource: 'PixelSpacing',
    imagePositionPatient: [0, 0, 0],
    imageOrientationPatient: [1, 0, 0, 0, 1, 0],
    sliceThickness: 1,
    frameOfReferenceUid: null,
    overlay: { patientName: '', patientId: '', studyDate: '', studyDescription: '', seriesDescription: '', seriesNumber: null, modality: 'CT', institutionName: '' },
    ...over,
  };
}

describe('hgpt image loader conversions', () => {
  it('image ids carry series, display index, instance and frame, and parse back', () => {
    const id = imageIdFor('1.2.840.113619.2.55', 17, '1.2.840.113619.2.55.3.604688119', 3);
    expect(id).toBe('hgpt:1.2.840.113619.2.55/17/1.2.840.113619.2.55.3.604688119/3');
    expect(parseImageId(id)).toEqual({ seriesUid: '1.2.840.113619.2.55', index: 17, sopInstanceUid: '1.2.840.113619.2.55.3.604688119', frame: 3 });
    expect(parseImageId('wadouri:http://x/1')).toBeNull();
    expect(parseImageId('hgpt:1.2/x/3/0')).toBeNull();
  });

  it('monochrome integers pass through with the modality rescale; the window comes from the file or from min/max in HU', () => {
    const f = frame({});
    const img = frameToImage('hgpt:1.2.3/0/1.2.3.4/0', f);
    expect(img.getPixelData()).toBe(f.pixels);
    expect([img.slope, img.intercept, img.rowPixelSpacing, img.columnPixelSpacing]).toEqual([1, -1024, 0.5, 0.7]);
    expect([img.windowCenter, img.windowWidth]).toEqual([(-1024 + 3071) / 2, 4095]);
    const withWindow = frameToImage('x', frame({ windows: [{ center: 40, width: 400, explanation: 'SOFT' }, { center: 600, width: 2000, explanation: 'BONE' }] }));
    expect([withWindow.windowCenter, withWindow.windowWidth]).toEqual([40, 400]);
    expect(frameToImage('x', frame({ invert: true })).invert).toBe(true);
  });

  it('a VOI LUT is used only when the file has no window', () => {
    const lut = { firstValueMapped: 0, bitsPerEntry: 16, data: [0, 100, 200], explanation: 'L' };
    expect(frameToImage('x', frame({ voiLut: lut })).voiLUT).toEqual({ firstValueMapped: 0, numBitsPerEntry: 16, lut: [0, 100, 200] });
    expect(frameToImage('x', frame({ voiLut: lut, windows: [{ center: 1, width: 2, explanation: '' }] })).voiLUT).toBeUndefined();
  });

  it('float frames are quantised to 16 bits with a rescale that restores their values', () => {
    const values = new Float32Array([-3.25, 0, 1e-3, 17.5, 1234.5678, -1000]);
    const d = displayPixels(frame({ pixels: values, minPixelValue: -1000, maxPixelValue: 1234.5678, rescaleSlope: 1, rescaleIntercept: 0 }));
    expect(d.pixels).toBeInstanceOf(Uint16Array);
    const step = (1234.5678 + 1000) / 65535;
    values.forEach((v, i) => expect(Math.abs((d.pixels[i] ?? 0) * d.slope + d.intercept - v)).toBeLessThanOrEqual(step / 2 + 1e-6));
    const flat = displayPixels(frame({ pixels: new Float32Array([5, 5]), rescaleSlope: 1, rescaleIntercept: 0 }));
    expect(flat.slope * (flat.pixels[0] ?? 0) + flat.intercept).toBe(5);
  });

  it('colour frames become RGBA bytes for Cornerstone, 16-bit samples scaled to 8 bits', () => {
    const rgb = displayPixels(frame({ color: true, samplesPerPixel: 3, pixels: new Uint8Array([10, 20, 30, 40, 50, 60]), bitsStored: 8 }));
    expect(Array.from(rgb.pixels)).toEqual([10, 20, 30, 255, 40, 50, 60, 255]);
    expect(rgb.rgba).toBe(true);
    const rgb16 = displayPixels(frame({ color: true, samplesPerPixel: 3, pixels: new Uint16Array([4095, 0, 2048]), bitsStored: 12 }));
    expect(Array.from(rgb16.pixels)).toEqual([255, 0, 128, 255]);
  });
});
