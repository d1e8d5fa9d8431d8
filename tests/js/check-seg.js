// Reads a DICOM Segmentation with dcmjs and reports what an independent reader sees.
// usage: node check-seg.js SEG.dcm OUT.bin  -> prints JSON on stdout; OUT.bin gets one byte (0/1) per pixel of every frame.
'use strict';
const fs = require('fs');
const dcmjs = require('dcmjs');

const [segPath, outPath] = process.argv.slice(2);
const buffer = fs.readFileSync(segPath);
const arrayBuffer = buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
const message = dcmjs.data.DicomMessage.readFile(arrayBuffer);
const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(message.dict);

const asList = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const rows = ds.Rows, cols = ds.Columns, frames = Number(ds.NumberOfFrames);
const pixelData = Array.isArray(ds.PixelData) ? ds.PixelData[0] : ds.PixelData;
const unpacked = dcmjs.data.BitArray.unpack(pixelData);
const needed = rows * cols * frames;
if (unpacked.length < needed) throw new Error(`pixel data holds ${unpacked.length} bits, ${needed} needed`);
const out = Buffer.alloc(needed);
for (let i = 0; i < needed; i++) out[i] = unpacked[i] ? 1 : 0;
fs.writeFileSync(outPath, out);

const segments = asList(ds.SegmentSequence).map((s) => {
  const type = asList(s.SegmentedPropertyTypeCodeSequence)[0] || {};
  const modifier = asList(type.SegmentedPropertyTypeModifierCodeSequence)[0];
  const category = asList(s.SegmentedPropertyCategoryCodeSequence)[0] || {};
  return {
    number: s.SegmentNumber,
    label: s.SegmentLabel,
    algorithmType: s.SegmentAlgorithmType,
    category: `${category.CodeValue}^${category.CodingSchemeDesignator}`,
    type: `${type.CodeValue}^${type.CodingSchemeDesignator}`,
    modifier: modifier ? `${modifier.CodeValue}^${modifier.CodingSchemeDesignator}` : null,
  };
});
const frameSegments = asList(ds.PerFrameFunctionalGroupsSequence).map(
  (f) => asList(f.SegmentIdentificationSequence)[0].ReferencedSegmentNumber);
console.log(JSON.stringify({
  sopClass: ds.SOPClassUID, modality: ds.Modality, rows, cols, frames,
  segmentationType: ds.SegmentationType, patientId: ds.PatientID, study: ds.StudyInstanceUID,
  segments, frameSegments,
}));
