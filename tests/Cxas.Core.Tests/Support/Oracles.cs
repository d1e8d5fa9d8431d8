namespace Cxas.Core.Tests
{
    /// <summary>
    /// The independent oracles tests lean on, by name: <c>shared</c> (../shared with its DICOM material), <c>pydicom</c>
    /// (/usr/bin/python3 with pydicom and numpy), <c>dcmjs</c> (node and tests/js/node_modules), or an executable on PATH.
    /// A test that needs a missing oracle is reported as skipped, saying what to install, unless
    /// <c>CXAS_REQUIRE_ORACLES=1</c> (CI sets it): then it runs and fails at <see cref="Require"/>, because an oracle CI
    /// installs must never be silently absent.
    /// </summary>
    public static class Oracles
    {
        public static bool Required => Environment.GetEnvironmentVariable("CXAS_REQUIRE_ORACLES") == "1";

        private static readonly Dictionary<string, string> Install = new Dictionary<string, string>
        {
            ["shared"] = "../shared beside the checkout",
            ["pydicom"] = "apt-get install python3-pydicom python3-numpy",
            ["dcmjs"] = "node and 'npm ci' in tests/js",
            ["dciodvfy"] = "apt-get install dicom3tools",
            ["dcentvfy"] = "apt-get install dicom3tools",
            ["gdcmconv"] = "apt-get install libgdcm-tools",
            ["openssl"] = "apt-get install openssl",
            ["libcharls"] = "apt-get install libcharls2",
            ["flock"] = "apt-get install util-linux",
        };

        private static readonly Dictionary<string, bool> Present = new Dictionary<string, bool>();

        public static bool IsPresent(string oracle)
        {
            lock (Present)
            {
                if (Present.TryGetValue(oracle, out var known)) return known;
                bool found;
                switch (oracle)
                {
                    case "shared": found = TestSupport.Shared != null && Directory.Exists(Path.Combine(TestSupport.Shared, "dicom")); break;
                    case "pydicom": found = TestSupport.PythonHasPydicom(); break;
                    case "libcharls": found = Cxas.Dicom.Codecs.CharLs.Available; break;
                    case "dcmjs":
                        found = TestSupport.Tool("node") != null &&
                                Directory.Exists(Path.Combine(TestSupport.RepoRoot, "tests", "js", "node_modules", "dcmjs"));
                        break;
                    default: found = TestSupport.Tool(oracle) != null; break;
                }
                Present[oracle] = found;
                return found;
            }
        }

        /// <summary>Why a test needing <paramref name="oracles"/> cannot run here, or null when it can.</summary>
        public static string? Missing(IEnumerable<string> oracles)
        {
            var missing = oracles.Where(o => !IsPresent(o)).ToList();
            if (missing.Count == 0) return null;
            return "Needs " + string.Join(", ", missing.Select(m => Install.TryGetValue(m, out var how) ? $"{m} ({how})" : $"{m} (apt-get install dcmtk)"));
        }

        /// <summary>Fails the running test when an oracle is missing (reached only when CI requires oracles).</summary>
        public static void Require(params string[] oracles)
        {
            var why = Missing(oracles);
            if (why != null) Assert.Fail(why + "; CXAS_REQUIRE_ORACLES=1 forbids skipping.");
        }
    }

    /// <summary>A fact that needs the named oracles (see <see cref="Oracles"/>).</summary>
    public sealed class OracleFactAttribute : FactAttribute
    {
        public OracleFactAttribute(params string[] oracles)
        {
            var why = Oracles.Missing(oracles);
            if (why != null && !Oracles.Required) Skip = why;
        }
    }

    /// <summary>A theory that needs the named oracles (see <see cref="Oracles"/>).</summary>
    public sealed class OracleTheoryAttribute : TheoryAttribute
    {
        public OracleTheoryAttribute(params string[] oracles)
        {
            var why = Oracles.Missing(oracles);
            if (why != null && !Oracles.Required) Skip = why;
        }
    }
}
