using System.IO.Compression;
using System.Text;
using Cxas.IO;

namespace Cxas.Imaging
{
    /// <summary>What <see cref="PngChecker"/> proved about a PNG file: its header and where its critical chunks lie.</summary>
    internal sealed class PngLayout
    {
        public int Width, Height, BitDepth, ColorType;
        public bool Interlaced;
        /// <summary>The signature, IHDR, PLTE, IDAT and IEND chunks (whole, with length and CRC) as (offset, length) in the file.</summary>
        public readonly List<(long Offset, long Length)> Critical = new List<(long, long)>();
        /// <summary>The IDAT payloads, in order: one zlib stream.</summary>
        public readonly List<(long Offset, long Length)> ImageData = new List<(long, long)>();
    }

    /// <summary>
    /// Proves a PNG file whole before any pixel is decoded (ImageSharp fills what is missing with zeros), streaming
    /// from the file with fixed-size buffers, in this order:
    /// 1. the signature;
    /// 2. every chunk: a type of four letters, its length within the file, and its CRC: all chunks, ancillary ones too
    ///    (PIL checks the chunks it reads); IHDR first, 13 bytes, valid and within <see cref="ImageLimits"/>; PLTE at
    ///    most once, before the IDATs, 1-256 entries, present for palette images and absent for grey ones; the IDAT
    ///    chunks contiguous; no unknown critical chunk; IEND empty and present (bytes after it are ignored);
    /// 3. compressed ancillary chunks (zTXt, compressed iTXt, iCCP): inflated into a scratch buffer and dropped, never
    ///    beyond <see cref="MaxAncillaryInflated"/> each or <see cref="MaxAncillaryInflatedTotal"/> over the file (PIL's
    ///    own limits): a decompression bomb is <c>Cxas.LimitExceeded</c> after at most 1 MiB of output;
    /// 4. the IDAT zlib stream: its header, then inflated (and dropped) to exactly the bytes the IHDR implies (for each
    ///    row of each non-empty Adam7 pass, a filter byte of 0-4 and the row's bytes; at most 1 MiB more, ignored as
    ///    libpng and PIL ignore it), and its Adler-32 equal to the stream's last four bytes. A caller that wants the
    ///    pixels of a non-interlaced file gets each row (filter byte first) from this same pass (<c>rowsFor</c>), so the
    ///    stream is inflated once; they are only its to keep when the whole check succeeds.
    /// Any failure is <c>Cxas.InvalidData</c> naming the file, the chunk and its offset, or what is missing.
    /// </summary>
    internal static class PngChecker
    {
        public const int MaxAncillaryInflated = 1 << 20;
        public const long MaxAncillaryInflatedTotal = 64L << 20;
        public const long MaxExtraImageData = 1L << 20;

        private static readonly byte[] Signature = { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A };

        // Adam7 passes: first column, first row, column step, row step.
        private static readonly int[][] Adam7 =
        {
            new[] { 0, 0, 8, 8 }, new[] { 4, 0, 8, 8 }, new[] { 0, 4, 4, 8 }, new[] { 2, 0, 4, 4 },
            new[] { 0, 2, 2, 4 }, new[] { 1, 0, 2, 2 }, new[] { 0, 1, 1, 2 },
        };

        private static CxasException Invalid(string path, string what) =>
            new CxasException(CxasErrorKind.InvalidData, $"'{path}' is a damaged PNG file: {what}", path);

        /// <param name="file">The PNG file, positioned anywhere (it is read from its start).</param>
        /// <param name="path">The file's path, for the errors.</param>
        /// <param name="options">The limits IHDR must keep.</param>
        /// <param name="rowsFor">Given the header, a consumer of the rows (each filter byte and samples, in one reused
        /// buffer), or null for none; asked only for non-interlaced files.</param>
        public static PngLayout Check(Stream file, string path, ImageReadOptions options, Func<PngLayout, Action<byte[]>?>? rowsFor = null)
        {
            var buffer = new byte[1 << 16];
            long fileLength = file.Length;
            file.Position = 0;
            if (ReadFully(file, buffer, 8) < 8 || !new ReadOnlySpan<byte>(buffer, 0, 8).SequenceEqual(Signature))
                throw Invalid(path, "it does not start with the PNG signature.");
            var layout = new PngLayout();
            layout.Critical.Add((0, 8));
            long pos = 8, ancillaryTotal = 0;
            bool header = false, palette = false, end = false;
            var head = new byte[128]; // the start of each chunk's data (IHDR; keyword and flags of text chunks)
            int idatState = 0; // 0 none yet, 1 in the IDAT run, 2 after it
            while (!end)
            {
                if (pos + 12 > fileLength)
                    throw Invalid(path, $"the file is truncated: it ends at byte {fileLength} without an IEND chunk.");
                file.Position = pos;
                ReadFully(file, buffer, 8);
                long length = ReadUInt32(buffer, 0);
                string type = Encoding.ASCII.GetString(buffer, 4, 4);
                for (int i = 4; i < 8; i++)
                    if (!(buffer[i] >= 'A' && buffer[i] <= 'Z' || buffer[i] >= 'a' && buffer[i] <= 'z'))
                        throw Invalid(path, $"the chunk at offset {pos} has an invalid type (bytes {buffer[4]:X2} {buffer[5]:X2} {buffer[6]:X2} {buffer[7]:X2}).");
                if (length > int.MaxValue)
                    throw Invalid(path, $"the {type} chunk at offset {pos} declares {length} bytes, more than a PNG chunk may hold.");
                if (pos + 12 + length > fileLength)
                    throw Invalid(path, $"the file is truncated: the {type} chunk at offset {pos} declares {length} bytes, {pos + 12 + length - fileLength} more than the file holds.");
                if (!header && type != "IHDR") throw Invalid(path, $"the first chunk is {type}, not IHDR.");
                uint crc = Checksums.UpdateCrc(Checksums.CrcStart, buffer, 4, 4);
                int headLength = (int)Math.Min(length, head.Length);
                for (long done = 0; done < length;)
                {
                    int n = ReadFully(file, buffer, (int)Math.Min(buffer.Length, length - done));
                    if (done < headLength) Array.Copy(buffer, 0, head, done, Math.Min(n, headLength - done));
                    crc = Checksums.UpdateCrc(crc, buffer, 0, n);
                    done += n;
                }
                ReadFully(file, buffer, 4);
                if (ReadUInt32(buffer, 0) != Checksums.CrcResult(crc))
                    throw Invalid(path, $"the {type} chunk at offset {pos} fails its CRC check.");
                if (type != "IDAT" && idatState == 1) idatState = 2;
                switch (type)
                {
                    case "IHDR":
                        if (header) throw Invalid(path, $"a second IHDR chunk comes at offset {pos}.");
                        ReadHeader(path, head, length, layout, options);
                        header = true;
                        layout.Critical.Add((pos, length + 12));
                        break;
                    case "PLTE":
                        if (palette || idatState != 0) throw Invalid(path, $"the PLTE chunk at offset {pos} is repeated or comes after the image data.");
                        if (layout.ColorType == 0 || layout.ColorType == 4) throw Invalid(path, "a grey image has a PLTE chunk.");
                        if (length % 3 != 0 || length == 0 || length > 768) throw Invalid(path, $"the PLTE chunk holds {length} bytes, not 1-256 RGB entries.");
                        palette = true;
                        layout.Critical.Add((pos, length + 12));
                        break;
                    case "IDAT":
                        if (idatState == 2) throw Invalid(path, $"the IDAT chunk at offset {pos} is separated from the earlier IDAT chunks.");
                        idatState = 1;
                        layout.Critical.Add((pos, length + 12));
                        layout.ImageData.Add((pos + 8, length));
                        break;
                    case "IEND":
                        if (length != 0) throw Invalid(path, $"the IEND chunk holds {length} bytes, not 0.");
                        layout.Critical.Add((pos, 12));
                        end = true;
                        break;
                    case "zTXt":
                    case "iTXt":
                    case "iCCP":
                        ancillaryTotal += CheckCompressedAncillary(file, path, type, pos, new ArraySegment<byte>(head, 0, headLength), length, ancillaryTotal, buffer);
                        break;
                    default:
                        if (type[0] >= 'A' && type[0] <= 'Z') throw Invalid(path, $"the {type} chunk at offset {pos} is critical and unknown.");
                        break;
                }
                pos += 12 + length;
            }
            if (layout.ImageData.Count == 0) throw Invalid(path, "it holds no IDAT chunk (no image data).");
            if (layout.ColorType == 3 && !palette) throw Invalid(path, "a palette image has no PLTE chunk.");
            CheckImageData(file, path, layout, buffer, layout.Interlaced ? null : rowsFor?.Invoke(layout));
            return layout;
        }

        private static void ReadHeader(string path, byte[] d, long length, PngLayout layout, ImageReadOptions options)
        {
            if (length != 13) throw Invalid(path, $"the IHDR chunk holds {length} bytes, not 13.");
            long width = ReadUInt32(d, 0), height = ReadUInt32(d, 4);
            int depth = d[8], color = d[9];
            bool depthOk = color switch
            {
                0 => depth == 1 || depth == 2 || depth == 4 || depth == 8 || depth == 16,
                3 => depth == 1 || depth == 2 || depth == 4 || depth == 8,
                2 or 4 or 6 => depth == 8 || depth == 16,
                _ => false,
            };
            if (!depthOk) throw Invalid(path, $"the IHDR chunk declares colour type {color} with {depth}-bit samples, not a valid pair.");
            if (d[10] != 0 || d[11] != 0 || d[12] > 1)
                throw Invalid(path, $"the IHDR chunk declares compression {d[10]}, filter {d[11]}, interlace {d[12]} (0, 0 and 0-1 are defined).");
            if (width > int.MaxValue || height > int.MaxValue) throw Invalid(path, $"the IHDR chunk declares {width}x{height} pixels.");
            options.Check(path, width, height);
            layout.Width = (int)width;
            layout.Height = (int)height;
            layout.BitDepth = depth;
            layout.ColorType = color;
            layout.Interlaced = d[12] == 1;
        }

        /// <summary>
        /// Inflates the compressed text or profile of a zTXt, iTXt or iCCP chunk into a scratch buffer, at most
        /// <see cref="MaxAncillaryInflated"/> bytes, and returns how many it gave.
        /// </summary>
        private static long CheckCompressedAncillary(Stream file, string path, string type, long pos, ArraySegment<byte> head, long length, long totalSoFar, byte[] buffer)
        {
            // zTXt, iCCP: name NUL method data. iTXt: keyword NUL flag method language NUL translated NUL text.
            int name = Array.IndexOf(head.Array!, (byte)0, 0, head.Count);
            if (name < 1 || name > 79 || name + 3 > head.Count) throw Invalid(path, $"the {type} chunk at offset {pos} has no valid keyword.");
            int flag = head.Array![name + 1], method = head.Array[type == "iTXt" ? name + 2 : name + 1];
            if (type == "iTXt" && flag > 1 || (type != "iTXt" || flag == 1) && method != 0)
                throw Invalid(path, $"the {type} chunk at offset {pos} declares compression flag {flag}, method {method}.");
            long start;
            if (type == "iTXt")
            {
                if (flag == 0) return 0; // uncompressed text
                // The language tag and translated keyword may run past the first bytes: find their ends in the file.
                file.Position = pos + 8 + name + 3;
                long p = name + 3;
                int nuls = 0;
                while (nuls < 2 && p < length)
                {
                    int n = ReadFully(file, buffer, (int)Math.Min(buffer.Length, length - p));
                    int i = 0;
                    for (; i < n && nuls < 2; i++) if (buffer[i] == 0) nuls++;
                    p += i;
                }
                if (nuls < 2) throw Invalid(path, $"the iTXt chunk at offset {pos} is malformed.");
                start = p;
            }
            else start = name + 2;
            if (length - start < 2) throw Invalid(path, $"the {type} chunk at offset {pos} holds no zlib stream.");
            var range = new List<(long, long)> { (pos + 8 + start, length - start) };
            using var data = new SegmentStream(file, range);
            ReadFully(data, buffer, 2);
            CheckZlibHeader(path, buffer, $"the {type} chunk at offset {pos}");
            long inflated = 0;
            try
            {
                using var z = new DeflateStream(data, CompressionMode.Decompress, leaveOpen: true);
                int n;
                while ((n = z.Read(buffer, 0, buffer.Length)) > 0)
                {
                    inflated += n;
                    if (inflated > MaxAncillaryInflated || totalSoFar + inflated > MaxAncillaryInflatedTotal)
                        throw new CxasException(CxasErrorKind.LimitExceeded,
                            $"'{path}' has {(type[0] == 'i' ? "an" : "a")} {type} chunk at offset {pos} whose {length:N0} compressed bytes inflate to more than " +
                            $"{(inflated > MaxAncillaryInflated ? MaxAncillaryInflated : MaxAncillaryInflatedTotal) >> 20} MiB of metadata (a decompression bomb); it is not read further.", path);
                }
            }
            catch (InvalidDataException ex)
            {
                throw Invalid(path, $"the {type} chunk at offset {pos} holds an invalid zlib stream ({ex.Message}).");
            }
            return inflated;
        }

        private static void CheckZlibHeader(string path, byte[] h, string where)
        {
            if ((h[0] & 0x0F) != 8 || (h[0] >> 4) > 7 || ((h[0] << 8) | h[1]) % 31 != 0 || (h[1] & 0x20) != 0)
                throw Invalid(path, $"{where} does not start with a valid zlib header ({h[0]:X2} {h[1]:X2}).");
        }

        /// <summary>Step 4: the IDAT zlib stream inflated and counted row by row, nothing kept.</summary>
        private static void CheckImageData(Stream file, string path, PngLayout layout, byte[] buffer, Action<byte[]>? rowSink)
        {
            long total = 0;
            foreach (var (_, length) in layout.ImageData) total += length;
            if (total < 6) throw Invalid(path, $"the IDAT chunks hold {total} bytes, too few for a zlib stream.");
            using var all = new SegmentStream(file, layout.ImageData);
            ReadFully(all, buffer, 2);
            CheckZlibHeader(path, buffer, "the image data (IDAT)");
            all.Position = total - 4;
            ReadFully(all, buffer, 4);
            uint expectedAdler = (uint)ReadUInt32(buffer, 0);

            // Rows per pass and bytes per row (filter byte included), from the IHDR.
            int channels = layout.ColorType switch { 0 => 1, 2 => 3, 3 => 1, 4 => 2, _ => 4 };
            long bitsPerPixel = (long)channels * layout.BitDepth;
            var rows = new List<(long Count, long Bytes)>();
            foreach (var pass in layout.Interlaced ? Adam7 : new[] { new[] { 0, 0, 1, 1 } })
            {
                long w = layout.Width > pass[0] ? (layout.Width - pass[0] + pass[2] - 1) / pass[2] : 0;
                long h = layout.Height > pass[1] ? (layout.Height - pass[1] + pass[3] - 1) / pass[3] : 0;
                if (w > 0 && h > 0) rows.Add((h, 1 + (w * bitsPerPixel + 7) / 8));
            }
            long expected = 0, rowsTotal = 0;
            foreach (var (count, bytes) in rows) { expected += count * bytes; rowsTotal += count; }

            long produced = 0, rowsDone = 0, untilFilter = 0, rowsLeftInPass = 0;
            // The row handed to the sink (non-interlaced: one pass, one row length).
            var row = rowSink == null ? null : new byte[rows[0].Bytes];
            int rowFill = 0;
            int passIndex = -1;
            uint adler = Checksums.AdlerStart;
            using (var deflated = new SegmentStream(file, SegmentStream.Slice(layout.ImageData, 2, total - 6)))
            using (var z = new DeflateStream(deflated, CompressionMode.Decompress))
            {
                int n;
                while (true)
                {
                    try
                    {
                        n = z.Read(buffer, 0, buffer.Length);
                    }
                    catch (InvalidDataException ex)
                    {
                        throw Invalid(path, $"the image data (IDAT) hold an invalid zlib stream after {produced} of {expected} bytes, row {rowsDone} of {rowsTotal} ({ex.Message}).");
                    }
                    if (n <= 0) break;
                    adler = Checksums.UpdateAdler(adler, buffer, 0, n);
                    for (int i = 0; i < n;)
                    {
                        if (untilFilter > 0)
                        {
                            int skip = (int)Math.Min(untilFilter, n - i);
                            if (row != null)
                            {
                                Buffer.BlockCopy(buffer, i, row, rowFill, skip);
                                rowFill += skip;
                                if (rowFill == row.Length) rowSink!(row);
                            }
                            i += skip;
                            untilFilter -= skip;
                            continue;
                        }
                        while (rowsLeftInPass == 0 && passIndex + 1 < rows.Count) rowsLeftInPass = rows[++passIndex].Count;
                        if (rowsLeftInPass == 0)
                        {
                            // Bytes after the last row: ignored as libpng and PIL do, within a bound (they cannot be a bomb).
                            if (produced + n - expected > MaxExtraImageData)
                                throw Invalid(path, $"the image data (IDAT) inflate to more than {MaxExtraImageData >> 20} MiB beyond the {expected} bytes its {layout.Width}x{layout.Height} header implies.");
                            break;
                        }
                        if (buffer[i] > 4)
                            throw Invalid(path, $"row {rowsDone} of the image data has filter type {buffer[i]} (0-4 are defined).");
                        untilFilter = rows[passIndex].Bytes - 1;
                        if (row != null)
                        {
                            row[0] = buffer[i];
                            rowFill = 1;
                            if (row.Length == 1) rowSink!(row);
                        }
                        rowsLeftInPass--;
                        rowsDone++;
                        i++;
                    }
                    produced += n;
                }
            }
            if (produced < expected || untilFilter > 0)
                throw Invalid(path, $"the image data (IDAT) end after {produced} of {expected} bytes: {rowsTotal - rowsDone + (untilFilter > 0 ? 1 : 0)} of {rowsTotal} rows are missing or incomplete.");
            if (adler != expectedAdler)
                throw Invalid(path, $"the image data (IDAT) fail their Adler-32 check (zlib stream corrupt or followed by other bytes).");
        }

        private static long ReadUInt32(byte[] b, int o) => ((long)b[o] << 24) | ((long)b[o + 1] << 16) | ((long)b[o + 2] << 8) | b[o + 3];

        private static int ReadFully(Stream s, byte[] buffer, int count)
        {
            int n = 0, r;
            while (n < count && (r = s.Read(buffer, n, count - n)) > 0) n += r;
            return n;
        }
    }
}
