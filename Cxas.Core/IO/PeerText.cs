using System.Globalization;
using System.Text;

namespace Cxas.IO
{
    /// <summary>
    /// Text a server chose (a reason phrase, a URL in a response, an error comment) made fit for a message: control and
    /// format characters (escape sequences, carriage returns, bidirectional overrides) become '?', and it is cut to a
    /// bounded length, so a peer can neither repaint a terminal nor forge log lines through an error.
    /// </summary>
    internal static class PeerText
    {
        public static string Clean(string? text, int max = 200)
        {
            if (string.IsNullOrEmpty(text)) return "";
            var s = new StringBuilder(Math.Min(text!.Length, max + 1));
            foreach (var c in text)
            {
                if (s.Length == max)
                {
                    s.Append('…');
                    break;
                }
                var category = CharUnicodeInfo.GetUnicodeCategory(c);
                s.Append(char.IsControl(c) || category == UnicodeCategory.Format || category == UnicodeCategory.LineSeparator
                         || category == UnicodeCategory.ParagraphSeparator ? '?' : c);
            }
            return s.ToString();
        }
    }
}
