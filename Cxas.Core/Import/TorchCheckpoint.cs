using System.IO.Compression;
using Cxas.IO;
using System.Text;

namespace Cxas.Import
{
    internal enum TorchDType { Float32, Float64, Float16, BFloat16, Int64, Int32, Int16, Int8, UInt8, Bool }

    /// <summary>One tensor of a checkpoint's state dict: where its values are, not the values themselves.</summary>
    internal sealed class CheckpointTensor
    {
        internal CheckpointTensor(string name, TensorRef source)
        {
            Name = name;
            Source = source;
        }

        internal TensorRef Source { get; }
        internal CheckpointTensor Renamed(string name) => new CheckpointTensor(name, Source);
        /// <summary>The key in the state dict, without a <c>module.</c> prefix.</summary>
        public string Name { get; }
        public TorchDType DType => Source.Storage.DType;
        public IReadOnlyList<long> Shape => Source.Shape;
        public long Count => Source.Shape.Aggregate(1L, (a, b) => a * b);
        public string ShapeText => string.Join("x", Source.Shape);
        public bool IsFloatingPoint => DType == TorchDType.Float32 || DType == TorchDType.Float64 || DType == TorchDType.Float16 || DType == TorchDType.BFloat16;
    }

    /// <summary>
    /// A PyTorch checkpoint in the zip format <c>torch.save</c> writes (data.pkl, data/&lt;key&gt;, byteorder,
    /// version), read without Python: the pickle is interpreted by a restricted reader that executes nothing, and
    /// tensor values are read on demand. A state dict may sit at the top or under one of the wrapper keys (<c>model</c>,
    /// <c>state_dict</c>, <c>model_state_dict</c>, <c>model_state</c>, <c>net</c>, <c>network</c>); <c>module.</c>
    /// prefixes (DataParallel) are stripped, and so are <c>model.</c> and <c>net.</c> when every key has them.
    /// </summary>
    internal sealed class TorchCheckpoint : IDisposable
    {
        /// <summary>Wrapper keys under which training scripts commonly keep the state dict.</summary>
        private static readonly string[] WrapperKeys = { "model", "state_dict", "model_state_dict", "model_state", "net", "network" };
        private const long MaxPickleBytes = 256L << 20;

        private readonly FileStream _file;
        private readonly ZipArchive _zip;
        private readonly string _prefix;
        private readonly bool _bigEndian;
        private readonly Dictionary<string, CheckpointTensor> _tensors;
        /// <summary>Each entry's declared CRC-32 and size, checked as the entry is read.</summary>
        private readonly Dictionary<string, ZipDirectory.Entry> _directory;

        public string Path { get; }
        public long FileLength { get; }
        /// <summary>Tensors by name, in the order the state dict lists them.</summary>
        public IReadOnlyList<CheckpointTensor> Tensors { get; }
        /// <summary>Scalar entries beside the state dict in the wrapper (e.g. <c>epoch</c>), as text.</summary>
        public IReadOnlyDictionary<string, string> Metadata { get; }
        /// <summary>The wrapper key the state dict was found under, or null when it is the top-level object.</summary>
        public string? StateDictKey { get; }
        /// <summary>How the keys were rewritten to the reference's names (prefixes stripped, backbone nesting), if at all.</summary>
        public IReadOnlyList<string> KeyRewrites { get; }

        private TorchCheckpoint(string path, FileStream file, ZipArchive zip, Dictionary<string, ZipDirectory.Entry> directory, string prefix, bool bigEndian,
            List<CheckpointTensor> tensors, Dictionary<string, string> metadata, string? stateDictKey, IReadOnlyList<string> keyRewrites)
        {
            _directory = directory;
            KeyRewrites = keyRewrites;
            Path = path;
            _file = file;
            FileLength = file.Length;
            _zip = zip;
            _prefix = prefix;
            _bigEndian = bigEndian;
            Tensors = tensors;
            _tensors = tensors.ToDictionary(t => t.Name, StringComparer.Ordinal);
            Metadata = metadata;
            StateDictKey = stateDictKey;
        }

        public static TorchCheckpoint Open(string path)
        {
            var full = System.IO.Path.GetFullPath(path);
            if (!File.Exists(full)) throw new CxasException(CxasErrorKind.NotFound, $"Checkpoint '{full}' does not exist.", full);
            FileStream file;
            try
            {
                file = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
            }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new CxasException(CxasErrorKind.NotFound, $"Checkpoint '{full}' cannot be read: {ex.Message}", full, ex);
            }
            try
            {
                return Open(full, file);
            }
            catch
            {
                file.Dispose();
                throw;
            }
        }

        private static TorchCheckpoint Open(string path, FileStream file)
        {
            var head = new byte[4];
            int n = file.Read(head, 0, 4);
            file.Position = 0;
            if (n < 4 || head[0] != (byte)'P' || head[1] != (byte)'K')
            {
                if (n >= 2 && head[0] == 0x80 && head[1] <= 5)
                    throw new CxasException(CxasErrorKind.NotSupported,
                        $"Checkpoint '{path}' is in PyTorch's legacy (pre-1.6, non-zip) format, which the importer does not read. " +
                        "Re-save it with a current torch.save (zip format).", path);
                throw new CxasException(CxasErrorKind.InvalidData, $"'{path}' is not a PyTorch zip checkpoint (no zip signature).", path);
            }

            ZipArchive zip;
            try
            {
                zip = new ZipArchive(file, ZipArchiveMode.Read, leaveOpen: true);
            }
            catch (InvalidDataException ex)
            {
                throw new CxasException(CxasErrorKind.InvalidData, $"Checkpoint '{path}' is not a readable zip file (truncated or damaged): {ex.Message}", path, ex);
            }

            try
            {
                var directory = ZipDirectory.Read(path)
                                ?? throw new CxasException(CxasErrorKind.InvalidData, $"Checkpoint '{path}': its zip central directory cannot be read.", path);
                var pickles = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal)
                                                      && e.FullName.IndexOf('/') == e.FullName.Length - "/data.pkl".Length).ToList();
                if (pickles.Count != 1)
                    throw new CxasException(CxasErrorKind.InvalidModel,
                        $"Checkpoint '{path}' is a zip file but not a torch.save archive ({pickles.Count} '<name>/data.pkl' entries; one expected).", path);
                var prefix = pickles[0].FullName.Substring(0, pickles[0].FullName.Length - "data.pkl".Length);

                bool bigEndian = false;
                var order = zip.GetEntry(prefix + "byteorder");
                if (order != null)
                {
                    var text = Encoding.ASCII.GetString(ReadEntry(order, 64, path, directory)).Trim();
                    if (text == "big") bigEndian = true;
                    else if (text != "little")
                        throw new CxasException(CxasErrorKind.InvalidModel, $"Checkpoint '{path}' declares byte order '{text}'.", path);
                }

                var pickleBytes = ReadEntry(pickles[0], Math.Min(MaxPickleBytes, file.Length), path, directory);
                var root = new PickleReader(pickleBytes, path).Load();
                var (stateDict, key) = FindStateDict(root, path);
                var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
                if (key != null && root is PickleDict wrapper)
                {
                    foreach (var item in wrapper.Items)
                        if (item.Key is string k && !ReferenceEquals(item.Value, stateDict) && ScalarText(item.Value) is string v)
                            metadata[k] = v;
                }

                var tensors = new List<CheckpointTensor>();
                var seen = new HashSet<string>(StringComparer.Ordinal);
                foreach (var item in stateDict.Items)
                {
                    if (!(item.Key is string name))
                        throw new CxasException(CxasErrorKind.InvalidModel, $"Checkpoint '{path}': a state dict key is not a string.", path);
                    if (!(item.Value is TensorRef tensor))
                        throw new CxasException(CxasErrorKind.InvalidModel,
                            $"Checkpoint '{path}': state dict entry '{name}' is a {PickleReader.Describe(item.Value)}, not a tensor.", path);
                    var stripped = name.StartsWith("module.", StringComparison.Ordinal) ? name.Substring("module.".Length) : name;
                    if (!seen.Add(stripped))
                        throw new CxasException(CxasErrorKind.InvalidModel, $"Checkpoint '{path}': tensor '{stripped}' appears twice.", path);
                    tensors.Add(new CheckpointTensor(stripped, tensor));
                }
                if (tensors.Count == 0)
                    throw new CxasException(CxasErrorKind.InvalidModel, $"Checkpoint '{path}' holds no tensors.", path);
                var rewrites = NormaliseKeys(tensors, path);
                return new TorchCheckpoint(path, file, zip, directory, prefix, bigEndian, tensors, metadata, key, rewrites);
            }
            catch (InvalidDataException ex)
            {
                zip.Dispose();
                throw new CxasException(CxasErrorKind.InvalidData, $"Checkpoint '{path}' is damaged: {ex.Message}", path, ex);
            }
            catch
            {
                zip.Dispose();
                throw;
            }
        }

        /// <summary>Prefixes that wrappers (DataParallel, Lightning-style modules, training scripts) put on every key.</summary>
        private static readonly string[] WholePrefixes = { "module.", "model.", "net." };

        /// <summary>
        /// Brings the layouts in circulation to the reference's key names: a prefix every key shares (<c>module.</c>,
        /// <c>model.</c>, <c>net.</c>, in any nesting) is stripped, and an encoder saved as <c>backbone.*</c> (one level
        /// of nesting, as TorchXRayVision's loader also accepts) becomes <c>backbone.backbone.*</c>. A rewrite that
        /// makes two keys equal is refused.
        /// </summary>
        private static List<string> NormaliseKeys(List<CheckpointTensor> tensors, string path)
        {
            var rewrites = new List<string>();
            for (bool changed = true; changed;)
            {
                changed = false;
                foreach (var p in WholePrefixes)
                {
                    if (!tensors.All(t => t.Name.StartsWith(p, StringComparison.Ordinal) && t.Name.Length > p.Length)) continue;
                    for (int i = 0; i < tensors.Count; i++) tensors[i] = tensors[i].Renamed(tensors[i].Name.Substring(p.Length));
                    rewrites.Add($"prefix '{p}' stripped");
                    changed = true;
                }
            }
            const string nested = "backbone.backbone.", flat = "backbone.";
            if (!tensors.Any(t => t.Name.StartsWith(nested, StringComparison.Ordinal)) && tensors.Any(t => t.Name.StartsWith(flat, StringComparison.Ordinal)))
            {
                for (int i = 0; i < tensors.Count; i++)
                    if (tensors[i].Name.StartsWith(flat, StringComparison.Ordinal))
                        tensors[i] = tensors[i].Renamed(nested + tensors[i].Name.Substring(flat.Length));
                rewrites.Add("'backbone.*' read as 'backbone.backbone.*'");
            }
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var t in tensors)
                if (!seen.Add(t.Name))
                    throw new CxasException(CxasErrorKind.InvalidModel, $"Checkpoint '{path}': tensor '{t.Name}' appears twice.", path);
            return rewrites;
        }

        private static (PickleDict Dict, string? Key) FindStateDict(object? root, string path)
        {
            if (!(root is PickleDict dict))
                throw new CxasException(CxasErrorKind.InvalidModel,
                    $"Checkpoint '{path}' holds a {PickleReader.Describe(root)}, not a state dict.", path);
            if (dict.Count > 0 && dict.Items.All(i => i.Value is TensorRef)) return (dict, null);
            foreach (var key in WrapperKeys)
                if (dict.TryGet(key, out var inner) && inner is PickleDict d && d.Count > 0 && d.Items.All(i => i.Value is TensorRef))
                    return (d, key);
            var keys = string.Join(", ", dict.Items.Select(i => i.Key.ToString()).Take(12));
            throw new CxasException(CxasErrorKind.InvalidModel,
                $"Checkpoint '{path}' has no state dict of tensors at the top or under {string.Join("/", WrapperKeys)} (keys: {keys}).", path);
        }

        private static string? ScalarText(object? value)
        {
            switch (value)
            {
                case string s: return s.Length <= 256 ? s : null;
                case long l: return l.ToString(System.Globalization.CultureInfo.InvariantCulture);
                case double d: return d.ToString("R", System.Globalization.CultureInfo.InvariantCulture);
                case bool b: return b ? "True" : "False";
                default: return null;
            }
        }

        /// <summary>
        /// Reads a whole entry; a declared size beyond <paramref name="limit"/> is refused before allocating. The bytes
        /// must be exactly the size the central directory declares, and their CRC-32 the one it declares: a flipped
        /// byte in a tensor is an error naming the entry, not silently wrong weights.
        /// </summary>
        private static byte[] ReadEntry(ZipArchiveEntry entry, long limit, string path, Dictionary<string, ZipDirectory.Entry> directory)
        {
            if (entry.Length < 0 || entry.Length > limit)
                throw new CxasException(CxasErrorKind.InvalidData,
                    $"Checkpoint '{path}': entry '{entry.FullName}' declares {entry.Length} bytes, more than the file can hold.", path);
            if (!directory.TryGetValue(entry.FullName, out var declared) || declared.Size != entry.Length)
                throw new CxasException(CxasErrorKind.InvalidData,
                    $"Checkpoint '{path}': entry '{entry.FullName}' has no consistent size in the zip's central directory.", path);
            var buffer = new byte[entry.Length];
            uint crc = Checksums.CrcStart;
            using (var stream = entry.Open())
            {
                int read = 0;
                while (read < buffer.Length)
                {
                    int n = stream.Read(buffer, read, buffer.Length - read);
                    if (n <= 0) break;
                    crc = Checksums.UpdateCrc(crc, buffer, read, n);
                    read += n;
                }
                if (read != buffer.Length)
                    throw new CxasException(CxasErrorKind.InvalidData,
                        $"Checkpoint '{path}': entry '{entry.FullName}' is truncated ({read} of {buffer.Length} bytes).", path);
                if (stream.Read(new byte[1], 0, 1) != 0)
                    throw new CxasException(CxasErrorKind.InvalidData,
                        $"Checkpoint '{path}': entry '{entry.FullName}' holds more than the {buffer.Length} bytes it declares.", path);
            }
            crc = Checksums.CrcResult(crc);
            if (crc != declared.Crc)
                throw new CxasException(CxasErrorKind.InvalidData,
                    $"Checkpoint '{path}': entry '{entry.FullName}' fails its CRC-32 check (its bytes give {crc:x8}, the zip declares " +
                    $"{declared.Crc:x8}): the file is damaged; download or copy it again.", path);
            return buffer;
        }

        public bool Contains(string name) => _tensors.ContainsKey(name);

        public CheckpointTensor? Find(string name) => _tensors.TryGetValue(name, out var t) ? t : null;

        /// <summary>The values of a floating-point tensor as float32, in C order; its shape must be <paramref name="shape"/>.</summary>
        public float[] ReadFloats(string name, params long[] shape)
        {
            var tensor = Find(name) ?? throw new CxasException(CxasErrorKind.InvalidModel,
                $"Checkpoint '{Path}' has no tensor '{name}' (expected shape {string.Join("x", shape)}).", Path);
            if (!tensor.Shape.SequenceEqual(shape))
                throw new CxasException(CxasErrorKind.InvalidModel,
                    $"Checkpoint '{Path}': tensor '{name}' has shape [{tensor.ShapeText}], expected [{string.Join("x", shape)}].", Path);
            return ReadFloats(tensor);
        }

        public float[] ReadFloats(CheckpointTensor tensor)
        {
            if (!tensor.IsFloatingPoint)
                throw new CxasException(CxasErrorKind.InvalidModel,
                    $"Checkpoint '{Path}': tensor '{tensor.Name}' is {tensor.DType}, not floating point.", Path);
            var src = tensor.Source;
            var storage = src.Storage;
            int size = ElementSize(storage.DType);
            // Bounds before any allocation: the storage must fit in the file, the view must fit in the storage.
            if (storage.Count > FileLength / size)
                throw Invalid($"tensor '{tensor.Name}' declares a storage of {storage.Count} values, more than the file holds");
            if (src.Strides.Length != src.Shape.Length)
                throw Invalid($"tensor '{tensor.Name}' has {src.Shape.Length} sizes but {src.Strides.Length} strides");
            long count = 1;
            long last = src.Offset;
            try
            {
                // Checked: a hostile offset (2^63-1) or stride (2^61) must not wrap round into an index that looks valid.
                for (int d = 0; d < src.Shape.Length; d++)
                {
                    if (src.Shape[d] < 0 || src.Strides[d] < 0) throw Invalid($"tensor '{tensor.Name}' has a negative size or stride");
                    count = checked(count * src.Shape[d]);
                    if (count > storage.Count && count > 0) throw Invalid($"tensor '{tensor.Name}' has more values than its storage");
                    if (src.Shape[d] > 0) last = checked(last + checked((src.Shape[d] - 1) * src.Strides[d]));
                }
            }
            catch (OverflowException ex)
            {
                throw new CxasException(CxasErrorKind.InvalidData,
                    $"Checkpoint '{Path}': tensor '{tensor.Name}' has an offset ({src.Offset}) or strides ({string.Join(",", src.Strides)}) " +
                    "whose arithmetic overflows: the file is damaged or hostile.", Path, ex);
            }
            if (count > 0 && (src.Offset < 0 || last >= storage.Count))
                throw Invalid($"tensor '{tensor.Name}' reaches past the end of its storage");
            if (count > int.MaxValue / 2) throw Invalid($"tensor '{tensor.Name}' is too large");

            var entry = _zip.GetEntry(_prefix + "data/" + storage.Key)
                        ?? throw Invalid($"the data of tensor '{tensor.Name}' (storage '{storage.Key}') is missing");
            if (entry.Length != storage.Count * size)
                throw Invalid($"storage '{storage.Key}' of tensor '{tensor.Name}' has {entry.Length} bytes, expected {storage.Count * size}");
            byte[] raw;
            try
            {
                raw = ReadEntry(entry, FileLength, Path, _directory);
            }
            catch (InvalidDataException ex)
            {
                throw new CxasException(CxasErrorKind.InvalidData, $"Checkpoint '{Path}': storage '{storage.Key}' is damaged: {ex.Message}", Path, ex);
            }
            if (_bigEndian && size > 1)
                for (int i = 0; i < raw.Length; i += size) Array.Reverse(raw, i, size);

            var result = new float[count];
            if (count == 0) return result;
            if (IsContiguous(src.Shape, src.Strides))
            {
                Convert(raw, storage.DType, src.Offset, result, 0, (int)count);
                return result;
            }
            // General strided view: walk the index space in C order.
            var shape = src.Shape;
            var strides = src.Strides;
            var index = new long[shape.Length];
            long offset = src.Offset;
            for (long i = 0; i < count; i++)
            {
                Convert(raw, storage.DType, offset, result, (int)i, 1);
                for (int d = shape.Length - 1; d >= 0; d--)
                {
                    index[d]++;
                    offset += strides[d];
                    if (index[d] < shape[d]) break;
                    offset -= strides[d] * shape[d];
                    index[d] = 0;
                }
            }
            return result;
        }

        private CxasException Invalid(string why) =>
            new CxasException(CxasErrorKind.InvalidModel, $"Checkpoint '{Path}': {why}.", Path);

        private static bool IsContiguous(long[] shape, long[] strides)
        {
            long expected = 1;
            for (int d = shape.Length - 1; d >= 0; d--)
            {
                if (shape[d] != 1 && strides[d] != expected) return false;
                expected *= shape[d];
            }
            return true;
        }

        internal static int ElementSize(TorchDType dtype)
        {
            switch (dtype)
            {
                case TorchDType.Float64: case TorchDType.Int64: return 8;
                case TorchDType.Float32: case TorchDType.Int32: return 4;
                case TorchDType.Float16: case TorchDType.BFloat16: case TorchDType.Int16: return 2;
                default: return 1;
            }
        }

        private static void Convert(byte[] raw, TorchDType dtype, long srcIndex, float[] dst, int dstIndex, int count)
        {
            switch (dtype)
            {
                case TorchDType.Float32:
                    Buffer.BlockCopy(raw, checked((int)(srcIndex * 4)), dst, dstIndex * 4, count * 4);
                    if (!BitConverter.IsLittleEndian)
                        for (int i = 0; i < count; i++)
                        {
                            var b = BitConverter.GetBytes(dst[dstIndex + i]);
                            Array.Reverse(b);
                            dst[dstIndex + i] = BitConverter.ToSingle(b, 0);
                        }
                    break;
                case TorchDType.Float64:
                    for (int i = 0; i < count; i++) dst[dstIndex + i] = (float)BitConverter.Int64BitsToDouble(ReadUInt64(raw, (srcIndex + i) * 8));
                    break;
                case TorchDType.Float16:
                    for (int i = 0; i < count; i++) dst[dstIndex + i] = HalfToFloat((ushort)(raw[(srcIndex + i) * 2] | (raw[(srcIndex + i) * 2 + 1] << 8)));
                    break;
                case TorchDType.BFloat16:
                    for (int i = 0; i < count; i++)
                    {
                        int bits = (raw[(srcIndex + i) * 2] | (raw[(srcIndex + i) * 2 + 1] << 8)) << 16;
                        dst[dstIndex + i] = BitConverter.ToSingle(BitConverter.GetBytes(bits), 0);
                    }
                    break;
                default:
                    throw new NotSupportedException(dtype.ToString());
            }
        }

        private static long ReadUInt64(byte[] raw, long at)
        {
            ulong v = 0;
            for (int i = 7; i >= 0; i--) v = (v << 8) | raw[at + i];
            return (long)v;
        }

        internal static float HalfToFloat(ushort h)
        {
            int sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
            float value;
            if (exp == 0) value = mant * (1f / (1 << 24));
            else if (exp == 31) value = mant == 0 ? float.PositiveInfinity : float.NaN;
            else value = (float)((1 + mant / 1024.0) * Math.Pow(2, exp - 15));
            return sign == 1 ? -value : value;
        }

        public void Dispose()
        {
            _zip.Dispose();
            _file.Dispose();
        }
    }
}
