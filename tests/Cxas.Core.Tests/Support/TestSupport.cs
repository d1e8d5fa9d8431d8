using System.Text.Json;

namespace Cxas.Core.Tests
{
    /// <summary>
    /// The one helper the tests share, split by concern over the files of Support/: where things are (this file: the
    /// checkout, ../shared, fixtures, temporary folders), external programs and the Python oracles
    /// (TestSupport.Tools.cs), and model fixtures and ONNX parity figures (TestSupport.Models.cs). .npy arrays are read
    /// by <see cref="Npy"/>; which oracles are installed is <see cref="Oracles"/>' business.
    /// </summary>
    internal static partial class TestSupport
    {
        private static readonly Lazy<string> Root = new Lazy<string>(() =>
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Cxas.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("Repository root (Cxas.sln) not found above " + AppContext.BaseDirectory);
        });

        private static readonly Lazy<string[]> ReferenceLabelsLazy = new Lazy<string[]>(LoadReferenceLabels);

        /// <summary>The checkout (the folder holding Cxas.sln).</summary>
        public static string RepoRoot => Root.Value;

        /// <summary>The shared test material (../shared beside the checkout), or null where it is absent.</summary>
        public static string? Shared
        {
            get
            {
                var path = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));
                return Directory.Exists(path) ? path : null;
            }
        }

        /// <summary>tests/fixtures/import: the committed reduced checkpoint and its PyTorch outputs.</summary>
        public static string ImportFixtures => Path.Combine(RepoRoot, "tests", "fixtures", "import");

        public static string ReducedCheckpoint => Path.Combine(ImportFixtures, "reduced_w16.pth");

        /// <summary>The reference's 159 class names, from the shipped default model's manifest.</summary>
        public static string[] ReferenceLabels => ReferenceLabelsLazy.Value;

        private static string[] LoadReferenceLabels()
        {
            var json = File.ReadAllText(Path.Combine(RepoRoot, "models", "cxas-test", "model.json"));
            using var doc = JsonDocument.Parse(json);
            return doc.RootElement.GetProperty("labels").EnumerateArray().Select(e => e.GetString()!).ToArray();
        }

        /// <summary>A new empty folder under the system's temporary folder; the caller deletes it.</summary>
        public static string NewTempDir(string prefix = "cxas-tests")
        {
            var dir = Path.Combine(Path.GetTempPath(), prefix + "-" + Guid.NewGuid().ToString("N").Substring(0, 10));
            Directory.CreateDirectory(dir);
            return dir;
        }
    }

    /// <summary>
    /// Base of the test classes that work in a folder of their own: xunit makes one instance per test, so each test gets
    /// a fresh empty <see cref="Dir"/>, deleted with its content when the test ends, and, when the class asks xunit for
    /// one, the output helper its figures and tool messages go to (<see cref="Out"/>).
    /// </summary>
    public abstract class TempFolderTests : IDisposable
    {
        private readonly ITestOutputHelper? _output;

        protected TempFolderTests(string prefix = "cxas-tests", ITestOutputHelper? output = null)
        {
            Dir = TestSupport.NewTempDir(prefix);
            _output = output;
        }

        /// <summary>The test's temporary folder.</summary>
        protected string Dir { get; }

        /// <summary>xunit's output for this test.</summary>
        protected ITestOutputHelper Out => _output ?? throw new InvalidOperationException(GetType().Name + " was not given an output helper.");

        public virtual void Dispose() => Directory.Delete(Dir, true);
    }
}
