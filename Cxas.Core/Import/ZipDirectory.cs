using System.Text;

namespace Cxas.Import
{
    /// <summary>
    /// The CRC-32 and sizes each entry of a zip file declares in its central directory (zip64 included), which
    /// netstandard2.0's <see cref="System.IO.Compression.ZipArchiveEntry"/> does not expose, so that the checkpoint reader
    /// can check every entry it reads. The directory: the end record (found backwards from the file's end), then, when
    /// a count or offset is saturated, the zip64 end record its locator points to, then one header per entry.
    /// </summary>
    internal static class ZipDirectory
    {
        internal readonly struct Entry
        {
            public Entry(uint crc, long size) { Crc = crc; Size = size; }
            public uint Crc { get; }
            /// <summary>Uncompressed size.</summary>
            public long Size { get; }
        }

        private const uint EndSignature = 0x06054b50, Zip64EndSignature = 0x06064b50, Zip64LocatorSignature = 0x07064b50, HeaderSignature = 0x02014b50;

        /// <summary>Entries by name; null when the directory cannot be read (the caller's zip reader reports damage its own way).</summary>
        public static Dictionary<string, Entry>? Read(string path)
        {
            try
            {
                using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read);
                return Read(file);
            }
            catch (Exception ex) when (ex is IOException || ex is ArgumentException || ex is OverflowException) { return null; }
        }

        private static Dictionary<string, Entry>? Read(FileStream file)
        {
            long length = file.Length;
            int tailLength = (int)Math.Min(length, 22 + 65535);
            var tail = ReadAt(file, length - tailLength, tailLength);
            int end = -1;
            for (int i = tailLength - 22; i >= 0; i--)
                if (U32(tail, i) == EndSignature) { end = i; break; }
            if (end < 0) return null;
            long count = U16(tail, end + 10), size = U32(tail, end + 12), offset = U32(tail, end + 16);
            if (count == 0xFFFF || size == 0xFFFFFFFF || offset == 0xFFFFFFFF)
            {
                // zip64: the locator sits just before the end record and gives the zip64 end record's offset.
                long locatorAt = length - tailLength + end - 20;
                if (locatorAt < 0) return null;
                var locator = ReadAt(file, locatorAt, 20);
                if (U32(locator, 0) != Zip64LocatorSignature) return null;
                var record = ReadAt(file, checked((long)U64(locator, 8)), 56);
                if (U32(record, 0) != Zip64EndSignature) return null;
                count = checked((long)U64(record, 32));
                size = checked((long)U64(record, 40));
                offset = checked((long)U64(record, 48));
            }
            if (offset + size > length || size > int.MaxValue) return null;
            var directory = ReadAt(file, offset, (int)size);
            var entries = new Dictionary<string, Entry>(StringComparer.Ordinal);
            int at = 0;
            for (long n = 0; n < count; n++)
            {
                if (at + 46 > directory.Length || U32(directory, at) != HeaderSignature) return null;
                uint crc = U32(directory, at + 16);
                long uncompressed = U32(directory, at + 24);
                int nameLength = U16(directory, at + 28), extraLength = U16(directory, at + 30), commentLength = U16(directory, at + 32);
                if (at + 46 + nameLength + extraLength > directory.Length) return null;
                var name = Encoding.UTF8.GetString(directory, at + 46, nameLength);
                if (uncompressed == 0xFFFFFFFF) uncompressed = Zip64Size(directory, at + 46 + nameLength, extraLength) ?? -1;
                entries[name] = new Entry(crc, uncompressed);
                at += 46 + nameLength + extraLength + commentLength;
            }
            return entries;
        }

        /// <summary>The uncompressed size from a zip64 extra field (id 1; it comes first when present).</summary>
        private static long? Zip64Size(byte[] b, int at, int length)
        {
            for (int end = at + length; at + 4 <= end;)
            {
                int id = U16(b, at), size = U16(b, at + 2);
                if (id == 1 && size >= 8 && at + 12 <= end) return checked((long)U64(b, at + 4));
                at += 4 + size;
            }
            return null;
        }

        private static byte[] ReadAt(FileStream file, long offset, int count)
        {
            var buffer = new byte[count];
            file.Position = offset;
            int read = 0, n;
            while (read < count && (n = file.Read(buffer, read, count - read)) > 0) read += n;
            if (read != count) throw new IOException("short read");
            return buffer;
        }

        private static int U16(byte[] b, int i) => b[i] | b[i + 1] << 8;
        private static uint U32(byte[] b, int i) => (uint)(b[i] | b[i + 1] << 8 | b[i + 2] << 16 | b[i + 3] << 24);
        private static ulong U64(byte[] b, int i) => U32(b, i) | (ulong)U32(b, i + 4) << 32;
    }
}
