"""Writes COUNT distinct DICOM instances for the PACS benchmark: the shared real radiographs, each copy with new
study/series/SOP Instance UIDs (pixel data and transfer syntax untouched).  usage: make_instances.py SHARED_REAL OUT COUNT"""
import glob, os, sys

import pydicom
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian, generate_uid

src, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
files = sorted(f for f in glob.glob(os.path.join(src, "*.dcm")) if "mono1" not in os.path.basename(f) or "10bit" in f)
os.makedirs(out, exist_ok=True)
for i in range(count):
    ds = pydicom.dcmread(files[i % len(files)], force=True)
    if not getattr(ds, "file_meta", None) or "TransferSyntaxUID" not in ds.file_meta:
        # A bare data set (no preamble, no meta): give it the meta information a Part 10 file needs.
        meta = FileMetaDataset()
        meta.TransferSyntaxUID = ImplicitVRLittleEndian if ds.is_implicit_VR else ExplicitVRLittleEndian
        meta.MediaStorageSOPClassUID = ds.SOPClassUID
        ds.file_meta = meta
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.save_as(os.path.join(out, "bench%03d.dcm" % i), write_like_original=False)
