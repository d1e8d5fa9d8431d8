using System.Globalization;
using System.Text;
using Cxas.Masks;

namespace Cxas.Export
{
    /// <summary>NumPy .npy (format 1.0) writer for bool arrays [C,H,W], streamed one row at a time.</summary>
    internal static class NpyWriter
    {
        public static void WriteHeader(Stream output, string descr, params long[] shape)
        {
            var dims = shape.Length == 1 ? shape[0].ToString(CultureInfo.InvariantCulture) + ","
                : string.Join(", ", Array.ConvertAll(shape, d => d.ToString(CultureInfo.InvariantCulture)));
            var dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': (" + dims + "), }";
            int unpadded = 10 + dict.Length + 1;
            int total = (unpadded + 63) / 64 * 64;
            var header = dict + new string(' ', total - unpadded) + "\n";
            output.Write(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0 }, 0, 8);
            int len = header.Length;
            output.WriteByte((byte)(len & 0xFF));
            output.WriteByte((byte)(len >> 8));
            var bytes = Encoding.ASCII.GetBytes(header);
            output.Write(bytes, 0, bytes.Length);
        }

    }
}
