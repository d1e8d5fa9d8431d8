using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text;
using Cxas.Dicom;

namespace Cxas.Core.Tests.Dicom
{
    /// <summary>Locates ../shared and external tools, runs processes, reads .npy oracles.</summary>
    internal static class DicomTestEnv
    {
        private static readonly Lazy<string?> Root = new Lazy<string?>(() =>
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null)
            {
                if (File.Exists(Path.Combine(dir.FullName, "Cxas.sln"))) return dir.FullName;
                dir = dir.Parent;
            }
            return null;
        });

        public static string? RepoRoot => Root.Value;

        /// <summary>The shared test material folder (../shared beside the checkout), or null when absent.</summary>
        public static string? Shared
        {
            get
            {
                if (RepoRoot == null) return null;
                var s = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));
                return Directory.Exists(Path.Combine(s, "dicom")) ? s : null;
            }
        }

        public const string Python = "/usr/bin/python3";

        /// <summary>Full path of an executable on PATH, or null.</summary>
        public static string? Tool(string name)
        {
            if (Path.IsPathRooted(name)) return File.Exists(name) ? name : null;
            foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator))
            {
                if (dir.Length == 0) continue;
                var p = Path.Combine(dir, name);
                if (File.Exists(p)) return p;
            }
            return null;
        }

        public static bool PythonHasPydicom()
        {
            if (!File.Exists(Python)) return false;
            var r = Run(Python, new[] { "-c", "import pydicom, numpy" });
            return r.Exit == 0;
        }

        public static (int Exit, string Out, string Err) Run(string exe, string[] args, string? workDir = null, int timeoutMs = 120_000)
        {
            var psi = new ProcessStartInfo(exe)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = workDir ?? Directory.GetCurrentDirectory(),
            };
            foreach (var a in args) psi.ArgumentList.Add(a);
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(timeoutMs))
            {
                p.Kill(true);
                throw new TimeoutException($"{exe} {string.Join(" ", args)} did not finish.");
            }
            p.WaitForExit();
            return (p.ExitCode, stdout.Result, stderr.Result);
        }

        /// <summary>Reads a 2-D little-endian uint16/uint8/int16 .npy array as ints.</summary>
        public static (int Rows, int Cols, int[] Data) ReadNpy(string path)
        {
            var bytes = File.ReadAllBytes(path);
            int major = bytes[6];
            int headerLen = major == 1 ? bytes[8] | (bytes[9] << 8) : BitConverter.ToInt32(bytes, 8);
            int start = major == 1 ? 10 : 12;
            var header = Encoding.ASCII.GetString(bytes, start, headerLen);
            int dataStart = start + headerLen;
            string descr = Between(header, "'descr': '", "'");
            var shape = Between(header, "'shape': (", ")").Split(',').Where(s => s.Trim().Length > 0).Select(s => int.Parse(s.Trim())).ToArray();
            if (header.Contains("'fortran_order': True")) throw new NotSupportedException("fortran order");
            int rows = shape[0], cols = shape[1];
            var data = new int[rows * cols];
            for (int i = 0; i < data.Length; i++)
            {
                switch (descr)
                {
                    case "<u2": data[i] = BitConverter.ToUInt16(bytes, dataStart + 2 * i); break;
                    case "<i2": data[i] = BitConverter.ToInt16(bytes, dataStart + 2 * i); break;
                    case "|u1": data[i] = bytes[dataStart + i]; break;
                    default: throw new NotSupportedException(descr);
                }
            }
            return (rows, cols, data);
        }

        private static string Between(string s, string a, string b)
        {
            int i = s.IndexOf(a, StringComparison.Ordinal) + a.Length;
            return s.Substring(i, s.IndexOf(b, i, StringComparison.Ordinal) - i);
        }

        /// <summary>Stored values of frame 0 as our reader decodes them.</summary>
        public static StoredFrame DecodeStored(string path)
        {
            var file = DicomParser.ReadFile(path);
            var d = DicomPixels.Describe(file);
            return DicomPixels.DecodeFirstFrame(file, d);
        }

        public static string NewTempDir(string prefix)
        {
            var dir = Path.Combine(Path.GetTempPath(), prefix + "-" + Guid.NewGuid().ToString("N").Substring(0, 8));
            Directory.CreateDirectory(dir);
            return dir;
        }
    }
}
