using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.Json;

namespace Cxas.Tests
{
    internal static class TestSupport
    {
        private static readonly Lazy<string[]> ReferenceLabelsLazy = new Lazy<string[]>(LoadReferenceLabels);

        public static string RepoRoot
        {
            get
            {
                var dir = new DirectoryInfo(AppContext.BaseDirectory);
                while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Cxas.sln"))) dir = dir.Parent;
                return dir?.FullName ?? throw new InvalidOperationException("Repository root not found.");
            }
        }

        /// <summary>../shared beside the checkout, or null where it is absent.</summary>
        public static string? SharedRoot
        {
            get
            {
                var path = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));
                return Directory.Exists(path) ? path : null;
            }
        }

        /// <summary>The reference's 159 class names, from the shipped default model's manifest.</summary>
        public static string[] ReferenceLabels => ReferenceLabelsLazy.Value;

        private static string[] LoadReferenceLabels()
        {
            var json = File.ReadAllText(Path.Combine(RepoRoot, "models", "cxas-test", "model.json"));
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.GetProperty("labels").EnumerateArray().Select(e => e.GetString()!).ToArray();
        }

        public static string NewTempDir()
        {
            var dir = Path.Combine(Path.GetTempPath(), "cxas-tests-" + Guid.NewGuid().ToString("N").Substring(0, 10));
            Directory.CreateDirectory(dir);
            return dir;
        }

        /// <summary>Runs Debian's python3 with a script; returns stdout; throws with stderr on failure.</summary>
        public static string Python(string script, params string[] args) => Cxas.Testing.ImageMutationHarness.RunPython(script, args);
    }
}
