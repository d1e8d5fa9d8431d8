using Cxas.Inference;
using Microsoft.ML.OnnxRuntime;

namespace Cxas.Core.Tests.Models
{
    /// <summary>
    /// The per-user cache of ONNX Runtime's optimised graph: the first session writes one entry folder named from the
    /// model's path and key, holding the graph and, apart, its weights (mapped, not read, by later sessions); the next
    /// session is made from it and computes the same logits as a session made from the model itself; a changed model
    /// gets a new entry and the old one goes (a single-file entry of an earlier version too); a damaged entry or one
    /// missing its weights is replaced; no cache folder, no file.
    /// </summary>
    public class OptimizedModelCacheTests : IDisposable
    {
        private readonly string _dir = TestSupport.NewTempDir("cxas-cache-tests");
        private static string Version => OrtEnv.Instance().GetVersionString();
        private static string DefaultOnnx => Path.Combine(TestSupport.RepoRoot, "models", "cxas-anatomy-r18", "model.onnx");

        public void Dispose() => Directory.Delete(_dir, true);

        private static SessionOptions Options() => new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, IntraOpNumThreads = 2 };

        private static float[] Run(InferenceSession session, float[] input)
        {
            using var value = OrtValue.CreateTensorValueFromMemory(input, new long[] { 1, 3, 320, 320 });
            using var results = session.Run(new RunOptions(), new[] { session.InputMetadata.Keys.First() }, new[] { value }, new[] { session.OutputMetadata.Keys.First() });
            return results[0].GetTensorDataAsSpan<float>().ToArray();
        }

        [Fact]
        public void SecondSessionComesFromTheCacheAndComputesTheSameLogits()
        {
            var model = Path.Combine(_dir, "model.onnx");
            File.Copy(DefaultOnnx, model);
            var cache = Path.Combine(_dir, "cache");
            var random = new Random(3);
            var input = Enumerable.Range(0, 3 * 320 * 320).Select(_ => (float)(random.NextDouble() * 4 - 2)).ToArray();

            float[] direct;
            using (var plain = new InferenceSession(model, Options())) direct = Run(plain, input);
            // A single-file entry as earlier versions wrote it, for the same model path: replaced by the new entry.
            var entryName = Path.GetFileName(Path.GetDirectoryName(OptimizedModelCache.PathFor(model, Version, cache))!);
            Directory.CreateDirectory(cache);
            File.WriteAllBytes(Path.Combine(cache, entryName.Substring(0, entryName.Length - 16) + "0123456789abcdef.onnx"), new byte[] { 1 });
            var first = OptimizedModelCache.Create(model, Version, Options, cache);
            var entry = Path.GetDirectoryName(first.CacheFile)!;
            using (first.Session)
            {
                Assert.False(first.FromCache);
                Assert.Equal(new[] { entry }, Directory.GetFileSystemEntries(cache));
                Assert.Equal(OptimizedModelCache.PathFor(model, Version, cache), first.CacheFile);
                Assert.Equal(direct, Run(first.Session, input));
            }
            // The graph and its weights apart: the 53 MB of weights are in model.data, the graph file is small.
            Assert.Equal(new[] { "model.data", "model.onnx" }, Directory.GetFiles(entry).Select(Path.GetFileName).OrderBy(n => n, StringComparer.Ordinal));
            Assert.True(new FileInfo(first.CacheFile!).Length < 1_000_000, "graph file " + new FileInfo(first.CacheFile!).Length);
            Assert.True(new FileInfo(Path.Combine(entry, "model.data")).Length > new FileInfo(model).Length / 2);
            var second = OptimizedModelCache.Create(model, Version, Options, cache);
            using (second.Session)
            {
                Assert.True(second.FromCache);
                Assert.Equal(first.CacheFile, second.CacheFile);
                Assert.Equal(direct, Run(second.Session, input)); // bit for bit: the same graph, the same kernels
            }

            // A touched model file is another key: a new entry, the old one removed.
            File.SetLastWriteTimeUtc(model, DateTime.UtcNow.AddMinutes(1));
            var third = OptimizedModelCache.Create(model, Version, Options, cache);
            using (third.Session)
            {
                Assert.False(third.FromCache);
                Assert.NotEqual(first.CacheFile, third.CacheFile);
                Assert.Equal(new[] { Path.GetDirectoryName(third.CacheFile) }, Directory.GetFileSystemEntries(cache));
            }
            // Another ONNX Runtime version is another key too.
            Assert.NotEqual(OptimizedModelCache.PathFor(model, Version, cache), OptimizedModelCache.PathFor(model, Version + "x", cache));
        }

        [Fact]
        public void DamagedEntryIsReplacedAndNoFolderMeansNoFile()
        {
            var model = Path.Combine(_dir, "model.onnx");
            File.Copy(DefaultOnnx, model);
            var cache = Path.Combine(_dir, "cache");
            var entry = OptimizedModelCache.PathFor(model, Version, cache)!;
            var weights = Path.Combine(Path.GetDirectoryName(entry)!, "model.data");
            Directory.CreateDirectory(Path.GetDirectoryName(entry)!);
            File.WriteAllBytes(entry, new byte[] { 1, 2, 3, 4, 5 });
            var made = OptimizedModelCache.Create(model, Version, Options, cache);
            using (made.Session)
            {
                Assert.False(made.FromCache);
                Assert.Equal(entry, made.CacheFile);
                Assert.True(new FileInfo(weights).Length > 1_000_000);
            }

            // An entry whose weights file is gone is made again.
            File.Delete(weights);
            var again = OptimizedModelCache.Create(model, Version, Options, cache);
            using (again.Session) Assert.False(again.FromCache);
            Assert.True(new FileInfo(weights).Length > 1_000_000);
            var cached = OptimizedModelCache.Create(model, Version, Options, cache);
            using (cached.Session) Assert.True(cached.FromCache);

            var none = OptimizedModelCache.Create(model, Version, Options, null);
            using (none.Session) Assert.Null(none.CacheFile);
            Assert.Equal(new[] { Path.GetDirectoryName(entry) }, Directory.GetFileSystemEntries(cache));
        }
    }
}
