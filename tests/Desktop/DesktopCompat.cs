using System.Diagnostics;

namespace Cxas.Core.Tests
{
    /// <summary>
    /// The few .NET (Core) members the shared test sources use that .NET Framework 4.8 lacks, as C# 14 extension
    /// members, so those sources compile unchanged for the Desktop leg. Test plumbing only: nothing of Cxas.Core.
    /// </summary>
    internal static class DesktopCompat
    {
        extension(Stream stream)
        {
            public void Write(byte[] bytes) => stream.Write(bytes, 0, bytes.Length);
        }

        extension(Math)
        {
            public static int Clamp(int value, int min, int max) => value < min ? min : value > max ? max : value;
            public static double Clamp(double value, double min, double max) => value < min ? min : value > max ? max : value;
            public static float Clamp(float value, float min, float max) => value < min ? min : value > max ? max : value;
        }

        extension(Array)
        {
            public static void Fill<T>(T[] array, T value)
            {
                for (int i = 0; i < array.Length; i++) array[i] = value;
            }
        }

        extension(Environment)
        {
            public static int ProcessId => Process.GetCurrentProcess().Id;
        }

        extension(OperatingSystem)
        {
            public static bool IsWindows() => Path.DirectorySeparatorChar == '\\';
        }

        extension(Path)
        {
            /// <summary>The path of <paramref name="path"/> below <paramref name="relativeTo"/> (both full; the tests ask no more).</summary>
            public static string GetRelativePath(string relativeTo, string path)
            {
                var root = Path.GetFullPath(relativeTo).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
                var full = Path.GetFullPath(path);
                return full.StartsWith(root, StringComparison.Ordinal) ? full.Substring(root.Length) : full;
            }
        }
    }
}
