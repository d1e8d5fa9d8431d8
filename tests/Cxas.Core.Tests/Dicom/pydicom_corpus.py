"""pydicom as the oracle over a folder of test files (pydicom's own test corpus, read in place).

For every file under CORPUS (recursively), one tab-separated line in OUT/manifest.tsv:
    index, path relative to CORPUS, outcome, photometric interpretation of the returned array, detail
outcome is
    decoded    pixel_array succeeded: OUT/<index>.stored.npy holds frame 0's stored values (int32, samples last) and
               OUT/<index>.grey.npy the grey image Cxas documents, computed with pydicom's own LUT functions:
               3 samples: Rec. 601 luma of RGB (YBR_RCT/YBR_ICT included), or Y of YBR; 1 sample: Modality LUT (apply_modality_lut), then the
               first VOI LUT or window (apply_voi_lut; a window pydicom refuses is skipped, as Cxas ignores it), then
               min-max to [0,1], then 1 - v for MONOCHROME1 or Presentation LUT Shape INVERSE.
    no-pixels  the file reads but holds no Pixel Data (or is not DICOM at all: dcmread without force refuses it)
    fails      pydicom raises on reading the file or its pixel data; detail names the exception
The photometric column is what pydicom says the array holds after decoding: its handlers change YBR to RGB when
their codec converted the colour space.

usage: python3 pydicom_corpus.py CORPUS OUT
"""
import os
import sys
import warnings

import numpy as np
import pydicom
from pydicom.pixel_data_handlers.util import apply_modality_lut, apply_voi_lut

warnings.simplefilter("ignore")


def grey(ds, frame):
    if frame.ndim == 3:
        f = frame.astype(np.float64)
        # YBR_RCT/YBR_ICT: the JPEG 2000 codec has undone the component transform, the array is RGB (PS3.3 C.7.6.3.1.2)
        if ds.PhotometricInterpretation in ("RGB", "YBR_RCT", "YBR_ICT"):
            g = 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]
        else:
            g = f[..., 0]
        return minmax(g, False)
    m = apply_modality_lut(frame, ds).astype(np.float64)
    try:
        v = apply_voi_lut(m, ds, index=0)
    except ValueError:
        v = m
    invert = ds.PhotometricInterpretation == "MONOCHROME1" or \
        str(ds.get("PresentationLUTShape", "")).upper() == "INVERSE"
    return minmax(np.asarray(v, dtype=np.float64), invert)


def minmax(v, invert):
    lo, hi = v.min(), v.max()
    s = (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)
    return 1 - s if invert else s


def frame0(ds, a):
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    return a[0] if frames > 1 else a


def main(corpus, out):
    rows = []
    names = []
    for d, _, files in os.walk(corpus):
        names += [os.path.relpath(os.path.join(d, f), corpus) for f in files]
    for i, name in enumerate(sorted(names)):
        path = os.path.join(corpus, name)
        try:
            ds = pydicom.dcmread(path)
        except Exception as e:
            rows.append((i, name, "no-pixels", "", "not DICOM: " + type(e).__name__))
            continue
        if "PixelData" not in ds:
            rows.append((i, name, "no-pixels", "", ""))
            continue
        try:
            a = frame0(ds, ds.pixel_array)
            g = grey(ds, a)
        except Exception as e:
            rows.append((i, name, "fails", "", type(e).__name__ + ": " + str(e).replace("\t", " ").replace("\n", " ")[:200]))
            continue
        np.save(os.path.join(out, "%d.stored.npy" % i), np.ascontiguousarray(a.astype("<i4")))
        np.save(os.path.join(out, "%d.grey.npy" % i), np.ascontiguousarray(g.astype("<f4")))
        rows.append((i, name, "decoded", ds.PhotometricInterpretation, str(ds.file_meta.get("TransferSyntaxUID", ""))))
    with open(os.path.join(out, "manifest.tsv"), "w") as f:
        for r in rows:
            f.write("\t".join(str(x) for x in r) + "\n")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
