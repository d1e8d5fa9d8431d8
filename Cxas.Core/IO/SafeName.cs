using System.Security.Cryptography;
using System.Text;

namespace Cxas.IO
{
    /// <summary>
    /// Output names made from input names. A safe name is one path component that means the same file on Windows,
    /// Linux and macOS and can never point outside its folder:
    /// <list type="number">
    /// <item>characters that are separators or invalid on any of them (<c>\ / : * ? " &lt; &gt; |</c>, controls) become <c>_</c>;</item>
    /// <item>a leading dot becomes <c>_</c> (no hidden outputs, none that look like Cxas temporaries, never <c>.</c> or <c>..</c>),
    /// and trailing dots and spaces become <c>_</c> (Windows would drop them);</item>
    /// <item>an empty name becomes <c>_</c>; a Windows device name (<c>con</c>, <c>nul</c>, <c>aux</c>, <c>prn</c>, <c>com0</c>-<c>com9</c>,
    /// <c>lpt0</c>-<c>lpt9</c>, also before an extension, as in <c>con.npy</c>) gets a leading <c>_</c>;</item>
    /// <item>a name longer than <see cref="MaxBytes"/> UTF-8 bytes is cut at a character boundary and ends in
    /// <c>~</c> and 8 hex digits of the SHA-256 of the whole name, so distinct long names stay distinct.</item>
    /// </list>
    /// <see cref="MaxBytes"/> leaves room for the longest suffix an output adds (<c>.seg.dcm</c>) within the 255-byte
    /// component limit of common file systems; temporary names are short and fixed (see <see cref="AtomicOutput"/>).
    /// </summary>
    internal static class SafeName
    {
        /// <summary>Longest safe name in UTF-8 bytes: 255 minus the longest output suffix (".seg.dcm").</summary>
        public const int MaxBytes = 247;

        private static readonly HashSet<string> DeviceNames = CreateDeviceNames();

        private static HashSet<string> CreateDeviceNames()
        {
            var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "con", "prn", "aux", "nul", "conin$", "conout$" };
            for (int i = 0; i <= 9; i++)
            {
                names.Add("com" + i);
                names.Add("lpt" + i);
            }
            foreach (var sup in new[] { "\u00b9", "\u00b2", "\u00b3" })
            {
                names.Add("com" + sup);
                names.Add("lpt" + sup);
            }
            return names;
        }

        /// <summary>Whether <paramref name="name"/> is a Windows device name, alone or before an extension.</summary>
        public static bool IsDeviceName(string name)
        {
            int dot = name.IndexOf('.');
            var head = (dot < 0 ? name : name.Substring(0, dot)).TrimEnd(' ');
            return DeviceNames.Contains(head);
        }

        /// <summary>The safe form of one name component (see the class summary).</summary>
        public static string Make(string? name)
        {
            var chars = new StringBuilder(name ?? "");
            for (int i = 0; i < chars.Length; i++)
            {
                char c = chars[i];
                if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' || c == ':' || c == '*' || c == '?' || c == '"' || c == '<' || c == '>' || c == '|')
                    chars[i] = '_';
            }
            if (chars.Length > 0 && chars[0] == '.') chars[0] = '_';
            for (int i = chars.Length - 1; i >= 0 && (chars[i] == '.' || chars[i] == ' '); i--) chars[i] = '_';
            var safe = chars.Length == 0 ? "_" : chars.ToString();
            if (IsDeviceName(safe)) safe = "_" + safe;
            return Shorten(safe, MaxBytes);
        }

        /// <summary>Cuts <paramref name="name"/> to at most <paramref name="maxBytes"/> UTF-8 bytes, keeping it distinct by a hash suffix.</summary>
        public static string Shorten(string name, int maxBytes)
        {
            if (Encoding.UTF8.GetByteCount(name) <= maxBytes) return name;
            var suffix = "~" + Hash8(name);
            int budget = maxBytes - suffix.Length;
            var cut = new StringBuilder();
            int bytes = 0;
            for (int i = 0; i < name.Length; i++)
            {
                int len = char.IsHighSurrogate(name[i]) && i + 1 < name.Length ? 2 : 1;
                int size = Encoding.UTF8.GetByteCount(name.ToCharArray(i, len));
                if (bytes + size > budget) break;
                cut.Append(name, i, len);
                bytes += size;
                i += len - 1;
            }
            // A cut can end in a dot or space; keep the rule that names never do.
            var text = cut.ToString().TrimEnd('.', ' ');
            return text + suffix;
        }

        /// <summary>8 lower-case hex digits of the SHA-256 of <paramref name="text"/> (UTF-8): a short stable tag.</summary>
        public static string Hash8(string text)
        {
            using var sha = SHA256.Create();
            var hash = sha.ComputeHash(Encoding.UTF8.GetBytes(text));
            var sb = new StringBuilder(8);
            for (int i = 0; i < 4; i++) sb.Append(hash[i].ToString("x2"));
            return sb.ToString();
        }
    }
}
