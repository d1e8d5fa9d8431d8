using System.Text;

namespace Cxas.Core.Tests
{
    /// <summary>
    /// One .npy file as numpy.save writes it (format 1.x or 2.x, C order, little endian): its dtype descriptor, shape and
    /// raw data, read once; <see cref="Ints"/> and <see cref="Floats"/> convert the dtypes the oracles write.
    /// </summary>
    internal sealed class Npy
    {
        private readonly byte[] _bytes;
        private readonly int _data;

        /// <summary>Reads the whole file and parses its header.</summary>
        private Npy(string path)
        {
            Path = path;
            _bytes = File.ReadAllBytes(path);
            if (_bytes.Length < 10 || _bytes[0] != 0x93 || Encoding.ASCII.GetString(_bytes, 1, 5) != "NUMPY")
                throw new InvalidDataException($"{path} is not an npy file");
            int major = _bytes[6];
            int headerLength = major == 1 ? _bytes[8] | (_bytes[9] << 8) : BitConverter.ToInt32(_bytes, 8);
            int start = major == 1 ? 10 : 12;
            var header = Encoding.ASCII.GetString(_bytes, start, headerLength);
            if (!header.Contains("'fortran_order': False")) throw new InvalidDataException($"{path}: only C-order arrays are read ({header})");
            Shape = Between(header, "'shape': (", ")").Split(new[] { ',' }, StringSplitOptions.RemoveEmptyEntries)
                .Select(s => long.Parse(s.Trim())).ToArray();
            Descr = Between(header, "'descr': '", "'");
            _data = start + headerLength;
        }

        public string Path { get; }
        /// <summary>numpy's dtype string, e.g. "&lt;u2", "|b1", "&lt;f4".</summary>
        public string Descr { get; }
        public long[] Shape { get; }
        public long Count => Shape.Aggregate(1L, (a, b) => a * b);

        public static Npy Read(string path) => new Npy(path);

        /// <summary>The values as ints (dtypes |b1, |u1, &lt;u2, &lt;i2, &lt;i4).</summary>
        public int[] Ints()
        {
            var values = new int[Count];
            for (int i = 0; i < values.Length; i++)
            {
                switch (Descr)
                {
                    case "|b1": case "|u1": values[i] = _bytes[_data + i]; break;
                    case "<u2": values[i] = BitConverter.ToUInt16(_bytes, _data + 2 * i); break;
                    case "<i2": values[i] = BitConverter.ToInt16(_bytes, _data + 2 * i); break;
                    case "<i4": values[i] = BitConverter.ToInt32(_bytes, _data + 4 * i); break;
                    default: throw new NotSupportedException($"{Path}: dtype {Descr} is not read as ints");
                }
            }
            return values;
        }

        /// <summary>The values of a float32 array.</summary>
        public float[] Floats()
        {
            if (Descr != "<f4") throw new InvalidDataException($"{Path}: only little-endian float32 arrays are read as floats, not {Descr}");
            if (_bytes.Length - _data != Count * 4) throw new InvalidDataException($"{Path}: size mismatch");
            var values = new float[Count];
            Buffer.BlockCopy(_bytes, _data, values, 0, values.Length * 4);
            return values;
        }

        /// <summary>A 2-D integer array (the shared corpus' stored values).</summary>
        public static (int Rows, int Cols, int[] Data) ReadInts2D(string path)
        {
            var npy = Read(path);
            return ((int)npy.Shape[0], (int)npy.Shape[1], npy.Ints());
        }

        /// <summary>A bool array (PyTorch's masks): its shape and one byte (0 or 1) per element.</summary>
        public static (long[] Shape, byte[] Bits) ReadBool(string path)
        {
            var npy = Read(path);
            if (npy.Descr != "|b1") throw new InvalidDataException($"{path} is not a bool array ({npy.Descr})");
            var bits = new byte[npy.Count];
            Buffer.BlockCopy(npy._bytes, npy._data, bits, 0, bits.Length);
            return (npy.Shape, bits);
        }

        private static string Between(string s, string a, string b)
        {
            int i = s.IndexOf(a, StringComparison.Ordinal) + a.Length;
            return s.Substring(i, s.IndexOf(b, i, StringComparison.Ordinal) - i);
        }
    }

    /// <summary>A float32 array with its shape: an ONNX input or PyTorch's reference logits.</summary>
    internal sealed class NpyArray
    {
        public long[] Shape { get; private init; } = Array.Empty<long>();
        public float[] Data { get; private init; } = Array.Empty<float>();

        public static NpyArray Load(string path)
        {
            var npy = Npy.Read(path);
            return new NpyArray { Shape = npy.Shape, Data = npy.Floats() };
        }
    }
}
