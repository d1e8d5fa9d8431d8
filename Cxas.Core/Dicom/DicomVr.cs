
namespace Cxas.Dicom
{
    /// <summary>
    /// The PS3.5 6.2 rules for the single-valued text VRs Cxas writes from its own values: the most characters a value may
    /// have, no backslash (the value delimiter) and no control character; CS further holds only upper-case letters, digits,
    /// space and underscore. Value objects check their fields here when they are built, so a bad value is refused with the
    /// attribute's name before anything is written.
    /// </summary>
    internal static class DicomVr
    {
        private static readonly Dictionary<string, int> MaxLength = new Dictionary<string, int>
        {
            ["CS"] = 16, ["SH"] = 16, ["LO"] = 64, ["UI"] = 64, ["ST"] = 1024, ["PN"] = 64,
        };

        /// <summary>
        /// <paramref name="value"/> when it is a valid, non-empty single value of <paramref name="vr"/>; otherwise a
        /// <see cref="CxasException"/> (InvalidArgument) naming <paramref name="attribute"/> and the rule it breaks.
        /// </summary>
        public static string Require(string attribute, string vr, string? value)
        {
            if (value == null || value.Trim().Length == 0) throw Refuse(attribute, vr, "must not be empty");
            var max = MaxLength[vr];
            if (value.Length > max) throw Refuse(attribute, vr, $"has {value.Length} characters; {vr} allows at most {max} ('{value}')");
            foreach (char c in value)
            {
                if (c == '\\') throw Refuse(attribute, vr, $"must not contain a backslash ('{value}')");
                if (char.IsControl(c)) throw Refuse(attribute, vr, $"must not contain control characters ('{value}')");
                if (vr == "CS" && !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' || c == '_'))
                    throw Refuse(attribute, vr, $"may hold only upper-case letters, digits, space and underscore ('{value}')");
            }
            return value;
        }

        private static CxasException Refuse(string attribute, string vr, string rule) =>
            new CxasException(CxasErrorKind.InvalidArgument, $"{attribute} ({vr}) {rule}.");
    }
}
