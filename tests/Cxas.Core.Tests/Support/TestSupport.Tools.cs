using System.Diagnostics;

namespace Cxas.Core.Tests
{
    /// <summary>External programs: finding them on PATH, running them, and Debian's python3 as an oracle.</summary>
    internal static partial class TestSupport
    {
        /// <summary>The python3 the tests use: $CXAS_PYTHON when set, else Debian's /usr/bin/python3 (numpy, PIL, pydicom, torch).</summary>
        public static string PythonPath
        {
            get
            {
                var python = Environment.GetEnvironmentVariable("CXAS_PYTHON");
                return string.IsNullOrEmpty(python) ? "/usr/bin/python3" : python!;
            }
        }

        /// <summary>Full path of an executable on PATH (or the rooted path itself when it exists), or null.</summary>
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

        public static bool PythonHasPydicom() => File.Exists(PythonPath) && Run(PythonPath, new[] { "-c", "import pydicom, numpy" }).Exit == 0;

        /// <summary>Runs a program to its end (killed after <paramref name="timeoutMs"/>; -1: no limit): its exit code, stdout and stderr.</summary>
        public static (int Exit, string Out, string Err) Run(string exe, string[] args, string? workDir = null, int timeoutMs = 120_000)
        {
            var psi = new ProcessStartInfo(exe)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = workDir ?? Directory.GetCurrentDirectory(),
            };
#if NETFRAMEWORK
            // No ArgumentList on .NET Framework; Mono (the Desktop leg) splits Arguments as a POSIX shell does.
            psi.Arguments = string.Join(" ", args.Select(a => "'" + a.Replace("'", "'\\''") + "'"));
#else
            foreach (var a in args) psi.ArgumentList.Add(a);
#endif
            using var p = Process.Start(psi)!;
            var stdout = p.StandardOutput.ReadToEndAsync();
            var stderr = p.StandardError.ReadToEndAsync();
            if (!p.WaitForExit(timeoutMs))
            {
#if NETFRAMEWORK
                p.Kill();
#else
                p.Kill(true);
#endif
                throw new TimeoutException($"{exe} {string.Join(" ", args)} did not finish.");
            }
            p.WaitForExit();
            return (p.ExitCode, stdout.Result, stderr.Result);
        }

        /// <summary>Runs a python3 script (<c>-c</c>) with arguments; returns its stdout, or throws with its stderr when it fails.</summary>
        public static string Python(string script, params string[] args)
        {
            var r = Run(PythonPath, new[] { "-c", script }.Concat(args).ToArray(), timeoutMs: System.Threading.Timeout.Infinite);
            if (r.Exit != 0) throw new InvalidOperationException($"python3 failed ({r.Exit}): {r.Err}");
            return r.Out;
        }

        /// <summary>Runs a python3 script file in its own folder; throws with its output when it fails.</summary>
        public static void PythonFile(string script, params string[] args)
        {
            var r = Run(PythonPath, new[] { script }.Concat(args).ToArray(), Path.GetDirectoryName(script), System.Threading.Timeout.Infinite);
            if (r.Exit != 0) throw new InvalidOperationException($"{PythonPath} {script} failed ({r.Exit}): {r.Out}\n{r.Err}");
        }
    }
}
