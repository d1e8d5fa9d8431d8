using System.Globalization;

namespace Cxas.Models
{
    public enum DeviceKind { Auto, Cpu, Cuda }

    /// <summary>Where inference runs: Auto, Cpu, or Cuda with a device index.</summary>
    public readonly struct DeviceSpec : IEquatable<DeviceSpec>
    {
        public DeviceKind Kind { get; }
        public int Index { get; }

        public DeviceSpec(DeviceKind kind, int index = 0) { Kind = kind; Index = index; }

        public static DeviceSpec Auto => new DeviceSpec(DeviceKind.Auto);
        public static DeviceSpec Cpu => new DeviceSpec(DeviceKind.Cpu);

        /// <summary>
        /// Parses "Auto", "Cpu", "Cuda", "Cuda:N", and the reference command line's forms "cpu" and "N" (a GPU index).
        /// </summary>
        public static DeviceSpec Parse(string? text)
        {
            var t = (text ?? "").Trim();
            if (t.Length == 0 || t.Equals("auto", StringComparison.OrdinalIgnoreCase)) return Auto;
            if (t.Equals("cpu", StringComparison.OrdinalIgnoreCase)) return Cpu;
            if (t.Equals("cuda", StringComparison.OrdinalIgnoreCase) || t.Equals("gpu", StringComparison.OrdinalIgnoreCase))
                return new DeviceSpec(DeviceKind.Cuda, 0);
            string number = t;
            foreach (var prefix in new[] { "cuda:", "gpu:" })
                if (t.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)) number = t.Substring(prefix.Length);
            if (int.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < 64)
                return new DeviceSpec(DeviceKind.Cuda, index);
            throw new CxasException(CxasErrorKind.InvalidArgument,
                $"Device '{text}' is not understood. Use Auto, Cpu, Cuda, Cuda:N, or a GPU index such as 0.");
        }

        public override string ToString() => Kind == DeviceKind.Cuda ? $"Cuda:{Index}" : Kind.ToString();
        public bool Equals(DeviceSpec other) => Kind == other.Kind && Index == other.Index;
        public override bool Equals(object? obj) => obj is DeviceSpec d && Equals(d);
        public override int GetHashCode() => ((int)Kind * 397) ^ Index;
    }
}

namespace Cxas.Models
{
    /// <summary>
    /// How many NVIDIA GPUs the machine shows, without starting CUDA: the driver's device nodes on Linux
    /// (/dev/nvidia0, /dev/nvidia1...), and on Windows the driver's library with one GPU assumed (CUDA itself is what
    /// would tell more). For suggestions only (tab completion); -Device Cuda:N is checked when a session starts.
    /// </summary>
    public static class CudaDevices
    {
        public static int Count()
        {
            try
            {
                if (System.IO.Path.DirectorySeparatorChar == '\\')
                    return System.IO.File.Exists(System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.System), "nvcuda.dll")) ? 1 : 0;
                int n = 0;
                while (n < 64 && System.IO.File.Exists("/dev/nvidia" + n.ToString(CultureInfo.InvariantCulture))) n++;
                return n;
            }
            catch (Exception) { return 0; }
        }
    }
}
