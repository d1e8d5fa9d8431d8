namespace Cxas.Core.Tests.Dicom
{
    /// <summary>pydicom (system python3 with python3-pydicom, numpy and GDCM) as an independent decoder and reader.</summary>
    internal static class PydicomOracle
    {
        /// <summary>pixel_array of frame 0 (first frame of a multi-frame object), flattened, as ints.</summary>
        public static int[] PixelArray(string dcm)
        {
            var dir = TestSupport.NewTempDir("cxas-pyd");
            try
            {
                var npy = Path.Combine(dir, "a.npy");
                const string script = "import sys, numpy as np, pydicom\n" +
                                      "d = pydicom.dcmread(sys.argv[1])\n" +
                                      "a = d.pixel_array\n" +
                                      "a = a[0] if getattr(d, 'NumberOfFrames', 1) and int(getattr(d, 'NumberOfFrames', 1) or 1) > 1 else a\n" +
                                      "np.save(sys.argv[2], np.ascontiguousarray(a.astype('<i4')))\n";
                var r = TestSupport.Run(TestSupport.PythonPath, new[] { "-c", script, dcm, npy });
                if (r.Exit != 0) throw new InvalidOperationException("pydicom failed: " + r.Err);
                return Npy.Read(npy).Ints();
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }
    }
}
