using System.Globalization;

namespace Cxas.Rendering
{
    /// <summary>An 8-bit RGBA colour (alpha not premultiplied).</summary>
    public readonly struct Rgba : IEquatable<Rgba>
    {
        public Rgba(byte r, byte g, byte b, byte a = 255) { R = r; G = g; B = b; A = a; }
        public byte R { get; }
        public byte G { get; }
        public byte B { get; }
        public byte A { get; }

        public Rgba WithAlpha(byte a) => new Rgba(R, G, B, a);

        /// <summary>"#RRGGBB" (alpha left out).</summary>
        public string ToHex() => string.Format(CultureInfo.InvariantCulture, "#{0:X2}{1:X2}{2:X2}", R, G, B);

        public static Rgba Parse(string hex)
        {
            var s = hex.Trim().TrimStart('#');
            if (s.Length != 6 && s.Length != 8)
                throw new CxasException(CxasErrorKind.InvalidArgument, $"'{hex}' is not a colour; use #RRGGBB or #RRGGBBAA.");
            byte P(int i) => byte.Parse(s.Substring(i, 2), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
            return new Rgba(P(0), P(2), P(4), s.Length == 8 ? P(6) : (byte)255);
        }

        /// <summary>A saturated colour from a hue in [0, 1).</summary>
        public static Rgba FromHue(double hue, double saturation = 0.8, double value = 1.0)
        {
            hue = (hue % 1 + 1) % 1 * 6;
            int sector = (int)Math.Floor(hue);
            double f = hue - sector;
            double p = value * (1 - saturation), q = value * (1 - saturation * f), t = value * (1 - saturation * (1 - f));
            double r, g, b;
            switch (sector)
            {
                case 0: r = value; g = t; b = p; break;
                case 1: r = q; g = value; b = p; break;
                case 2: r = p; g = value; b = t; break;
                case 3: r = p; g = q; b = value; break;
                case 4: r = t; g = p; b = value; break;
                default: r = value; g = p; b = q; break;
            }
            return new Rgba(ToByte(r), ToByte(g), ToByte(b));
        }

        private static byte ToByte(double v) => (byte)Math.Round(Math.Max(0, Math.Min(1, v)) * 255);

        public bool Equals(Rgba other) => R == other.R && G == other.G && B == other.B && A == other.A;
        public override bool Equals(object? obj) => obj is Rgba o && Equals(o);
        public override int GetHashCode() => (R << 24) | (G << 16) | (B << 8) | A;
        public override string ToString() => ToHex() + A.ToString("X2", CultureInfo.InvariantCulture);
    }

    /// <summary>Colours for classes and feature drawings.</summary>
    internal static class Palette
    {
        /// <summary>A colour for class index <paramref name="c"/>: hues spaced by the golden ratio, so neighbours differ.</summary>
        public static Rgba ForClass(int c) => Rgba.FromHue(0.07 + c * 0.6180339887498949, 0.75, 1.0);

        private static readonly System.Collections.Generic.Dictionary<string, Rgba> Preferred =
            new System.Collections.Generic.Dictionary<string, Rgba>(StringComparer.OrdinalIgnoreCase)
            {
                ["heart"] = new Rgba(235, 50, 50),
                ["lung"] = new Rgba(60, 120, 255),
                ["right lung"] = new Rgba(40, 190, 255),
                ["left lung"] = new Rgba(130, 90, 255),
                ["right hemidiaphragm"] = new Rgba(255, 160, 0),
                ["left hemidiaphragm"] = new Rgba(255, 220, 0),
                ["spine"] = new Rgba(70, 220, 110),
                ["trachea"] = new Rgba(0, 230, 200),
                ["aorta"] = new Rgba(255, 90, 200),
            };

        /// <summary>A fixed colour for the most drawn classes, else <see cref="ForClass"/>.</summary>
        public static Rgba ForLabel(string label, int c) => Preferred.TryGetValue(label, out var color) ? color : ForClass(c);

        public static readonly Rgba Thorax = new Rgba(0, 200, 255);
        public static readonly Rgba HeartExtent = new Rgba(255, 196, 0);
        public static readonly Rgba Midline = new Rgba(255, 255, 255);
        public static readonly Rgba Point = new Rgba(255, 40, 160);
        public static readonly Rgba SpineLine = new Rgba(60, 230, 90);
        public static readonly Rgba SpineCenter = new Rgba(255, 60, 40);
        public static readonly Rgba Connector = new Rgba(255, 255, 255);
    }
}
