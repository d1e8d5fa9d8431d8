using System.Globalization;
using System.Text.Json;

namespace Cxas.DicomWeb
{
    /// <summary>Reading values from the DICOM JSON model (PS3.18 F.2): objects keyed by 8-hex-digit tags, each with "vr" and "Value".</summary>
    internal static class DicomJson
    {
        public static string Tag(uint tag) => tag.ToString("X8", CultureInfo.InvariantCulture);

        private static JsonElement? Values(JsonElement obj, uint tag)
        {
            if (obj.ValueKind != JsonValueKind.Object) return null;
            if (!obj.TryGetProperty(Tag(tag), out var element) || element.ValueKind != JsonValueKind.Object) return null;
            if (!element.TryGetProperty("Value", out var values) || values.ValueKind != JsonValueKind.Array || values.GetArrayLength() == 0) return null;
            return values;
        }

        /// <summary>The first value as text (person names: the alphabetic group), or null.</summary>
        public static string? String(JsonElement obj, uint tag)
        {
            var values = Values(obj, tag);
            if (values == null) return null;
            var first = values.Value[0];
            switch (first.ValueKind)
            {
                case JsonValueKind.String: return first.GetString();
                case JsonValueKind.Number: return first.GetRawText();
                case JsonValueKind.Object:
                    return first.TryGetProperty("Alphabetic", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
                default: return null;
            }
        }

        public static int? Int(JsonElement obj, uint tag)
        {
            var s = String(obj, tag);
            return s != null && double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? (int?)d : null;
        }

        /// <summary>The items of a sequence (empty when absent).</summary>
        public static IEnumerable<JsonElement> Items(JsonElement obj, uint tag)
        {
            var values = Values(obj, tag);
            if (values == null) yield break;
            foreach (var item in values.Value.EnumerateArray())
                if (item.ValueKind == JsonValueKind.Object) yield return item;
        }
    }
}
