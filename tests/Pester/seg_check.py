"""Fetches DICOM-SEG objects back over WADO-RS and reads them with pydicom, independently of Cxas.

usage: seg_check.py OUT_DIR URI...   (password in $CXAS_TEST_PASSWORD, user 'cxas')
For each URI: GET with Accept multipart/related; type="application/dicom", split the multipart body with Python's email
parser, write OUT_DIR/<n>.dcm, and print one JSON line: file, SOP instance, study, series, the referenced source SOP
instance, and the pixel count of every segment by label (frames mapped to segments through the per-frame groups).
"""
import base64, email.parser, io, json, os, sys, urllib.request

import numpy as np
import pydicom

out, uris = sys.argv[1], sys.argv[2:]
auth = base64.b64encode(("cxas:" + os.environ["CXAS_TEST_PASSWORD"]).encode()).decode()
for n, uri in enumerate(uris):
    req = urllib.request.Request(uri, headers={"Accept": 'multipart/related; type="application/dicom"', "Authorization": "Basic " + auth})
    with urllib.request.urlopen(req, timeout=60) as resp:
        ctype, body = resp.headers["Content-Type"], resp.read()
    msg = email.parser.BytesParser().parsebytes(b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body)
    parts = [p for p in msg.walk() if p.get_content_type() == "application/dicom"]
    data = parts[0].get_payload(decode=True)
    path = os.path.join(out, "%d.dcm" % n)
    with open(path, "wb") as f:
        f.write(data)
    ds = pydicom.dcmread(io.BytesIO(data))
    frames = ds.pixel_array
    if frames.ndim == 2:
        frames = frames[np.newaxis]
    labels = {int(s.SegmentNumber): str(s.SegmentLabel) for s in ds.SegmentSequence}
    counts = {}
    for i, group in enumerate(ds.PerFrameFunctionalGroupsSequence):
        number = int(group.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        counts[labels[number]] = counts.get(labels[number], 0) + int(np.count_nonzero(frames[i]))
    ref = ds.ReferencedSeriesSequence[0].ReferencedInstanceSequence[0].ReferencedSOPInstanceUID
    print(json.dumps({"uri": uri, "file": path, "sop": str(ds.SOPInstanceUID), "study": str(ds.StudyInstanceUID),
                      "series": str(ds.SeriesInstanceUID), "modality": str(ds.Modality), "source": str(ref), "counts": counts}))
