using System.Collections.Concurrent;
using System.Threading;
using Cxas.Models;
using Microsoft.ML.OnnxRuntime;

namespace Cxas.Inference
{
    /// <summary>Receives one image's logits [C,H,W]; the span is only valid during the call.</summary>
    internal delegate void LogitsConsumer(ReadOnlySpan<float> logits);

    /// <summary>Receives the logits [C,H,W] of image <paramref name="index"/> of a batch; the span is only valid during the call.</summary>
    internal delegate void BatchLogitsConsumer(int index, ReadOnlySpan<float> logits);

    /// <summary>One ONNX Runtime session for one model on one device.</summary>
    internal sealed class ModelSession : IDisposable
    {
        private readonly InferenceSession _session;
        private readonly object _runLock = new object();

        public CxasModel Model { get; }
        /// <summary>The device actually used (never Auto).</summary>
        public DeviceSpec Device { get; }
        public string InputName { get; }
        public string OutputName { get; }
        public int InputWidth => Model.Manifest.Input.Width;
        public int InputHeight => Model.Manifest.Input.Height;
        public int Classes => Model.Manifest.Labels.Length;

        private ModelSession(CxasModel model, DeviceSpec device, InferenceSession session)
        {
            Model = model;
            Device = device;
            _session = session;
            var manifest = model.Manifest;
            var path = model.OnnxPath;

            if (session.InputMetadata.Count != 1)
                throw Invalid($"it has {session.InputMetadata.Count} inputs; one image input is expected.");
            var input = session.InputMetadata.First();
            InputName = input.Key;
            if (manifest.Input.Name != null && manifest.Input.Name != InputName)
                throw Invalid($"its input is named '{InputName}' but model.json names '{manifest.Input.Name}'.");
            var inDims = input.Value.Dimensions;
            if (input.Value.ElementType != typeof(float) || inDims.Length != 4
                || !DimFits(inDims[1], 3) || !DimFits(inDims[2], manifest.Input.Height) || !DimFits(inDims[3], manifest.Input.Width))
                throw Invalid($"its input has shape [{string.Join(",", inDims)}] ({input.Value.ElementType.Name}); " +
                              $"model.json needs float [N,3,{manifest.Input.Height},{manifest.Input.Width}].");

            var output = manifest.Output.Name != null
                ? session.OutputMetadata.FirstOrDefault(o => o.Key == manifest.Output.Name)
                : session.OutputMetadata.First();
            if (output.Key == null)
                throw Invalid($"it has no output named '{manifest.Output.Name}'.");
            OutputName = output.Key;
            var outDims = output.Value.Dimensions;
            if (outDims.Length != 4)
                throw Invalid($"its output has shape [{string.Join(",", outDims)}]; [N,C,H,W] is expected.");
            if (!DimFits(outDims[1], manifest.Labels.Length))
                throw Invalid($"it has {outDims[1]} output channels but model.json lists {manifest.Labels.Length} labels.");
            if (!DimFits(outDims[2], manifest.Input.Height) || !DimFits(outDims[3], manifest.Input.Width))
                throw Invalid($"its output is {outDims[2]}x{outDims[3]} but the input is {manifest.Input.Height}x{manifest.Input.Width}.");

            CxasException Invalid(string why) => new CxasException(CxasErrorKind.InvalidModel, $"Model '{path}' does not fit its manifest: {why}", path);
        }

        private static bool DimFits(int dim, int expected) => dim <= 0 || dim == expected;

        /// <summary>The cached optimised graph used or written (CPU sessions; null when the cache is off or not writable).</summary>
        public string? CacheFile { get; private set; }
        /// <summary>True when the session was made from the cached optimised graph.</summary>
        public bool FromCache { get; private set; }

        /// <summary>Why Auto did not pick CUDA (null when it did, or when CPU was asked for).</summary>
        public string? FallbackReason { get; private set; }

        // ONNX Runtime's environment is one per process by its own design (OrtEnv.Instance is a singleton that every
        // session of the process shares), so it is the one process-wide object here; sessions are owned by ModelSessions.
        private static readonly Lazy<OrtEnv> Env = new Lazy<OrtEnv>(() =>
        {
            var env = OrtEnv.Instance();
            // Cxas reports failures itself, as exceptions naming the cause; ONNX Runtime's own console log stays quiet.
            env.EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
            return env;
        });

        /// <summary>
        /// Readies CUDA device <c>index</c> on the options and returns null, or returns why it cannot be used. The default,
        /// <see cref="SetUpCuda"/>, asks the real runtime; tests inject others so both outcomes are exercised on every machine.
        /// </summary>
        internal delegate string? CudaSetup(SessionOptions options, int index);

        internal static ModelSession Create(CxasModel model, DeviceSpec device) => Create(model, device, SetUpCuda);

        internal static ModelSession Create(CxasModel model, DeviceSpec device, CudaSetup cuda)
        {
            _ = Env.Value;
            if (device.Kind == DeviceKind.Auto)
            {
                string reason;
                try { return Create(model, new DeviceSpec(DeviceKind.Cuda, 0), cuda); }
                catch (CxasException ex) when (ex.Kind == CxasErrorKind.Device) { reason = ex.Message; }
                var cpu = Create(model, DeviceSpec.Cpu, cuda);
                cpu.FallbackReason = reason;
                return cpu;
            }

            SessionOptions NewOptions()
            {
                var o = new SessionOptions
                {
                    GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                    ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                };
                // Threads sleep between records instead of spinning: a folder run interleaves decode and inference.
                o.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
                o.IntraOpNumThreads = Math.Max(1, Environment.ProcessorCount);
                return o;
            }

            InferenceSession session;
            string? cacheFile = null;
            bool fromCache = false;
            try
            {
                if (device.Kind == DeviceKind.Cuda)
                {
                    using var options = NewOptions();
                    var why = cuda(options, device.Index);
                    if (why != null)
                        throw new CxasException(CxasErrorKind.Device, why, remedy:
                            NativeRuntime.Directory != null && !NativeRuntime.HasCudaProvider ? CxasRemedy.InstallCudaCompanion : CxasRemedy.None);
                    session = new InferenceSession(model.OnnxPath, options);
                }
                else
                {
                    // On the CPU the optimised graph is cached per user (OptimizedModelCache), so later runs skip optimisation.
                    var made = OptimizedModelCache.Create(model.OnnxPath, Env.Value.GetVersionString(), NewOptions);
                    session = made.Session;
                    cacheFile = made.CacheFile;
                    fromCache = made.FromCache;
                }
            }
            catch (OnnxRuntimeException ex)
            {
                throw new CxasException(device.Kind == DeviceKind.Cuda ? CxasErrorKind.Device : CxasErrorKind.InvalidModel,
                    $"ONNX Runtime cannot load '{model.OnnxPath}' on {device}: {ex.Message.Trim()}", model.OnnxPath, ex);
            }
            try
            {
                return new ModelSession(model, device, session) { CacheFile = cacheFile, FromCache = fromCache };
            }
            catch
            {
                session.Dispose();
                throw;
            }
        }

        /// <summary>The real CUDA set-up: the build must have the provider, its library must be installed, and ONNX Runtime must accept the device.</summary>
        internal static string? SetUpCuda(SessionOptions options, int index)
        {
            if (!CudaAvailable())
                return $"CUDA device {index} was requested, but this ONNX Runtime build has no CUDA execution provider " +
                       $"(available: {string.Join(", ", Env.Value.GetAvailableProviders())}).";
            if (NativeRuntime.Directory != null && !NativeRuntime.HasCudaProvider)
                return $"CUDA device {index} was requested, but the CUDA provider is not installed: it comes in the companion " +
                       $"module {NativeRuntime.CudaModuleName}, of the same version as Cxas.";
            try
            {
                options.AppendExecutionProvider_CUDA(index);
                return null;
            }
            catch (Exception ex)
            {
                return $"CUDA device {index} cannot be used: {ex.Message.Trim()} " +
                       $"(needs {NativeRuntime.CudaRequirement}).";
            }
        }

        /// <summary>Whether ONNX Runtime offers a CUDA provider here (the driver may still be missing).</summary>
        public static bool CudaAvailable()
        {
            try { return Env.Value.GetAvailableProviders().Contains("CUDAExecutionProvider"); }
            catch { return false; }
        }

        /// <summary>Runs one image [1,3,H,W]; <paramref name="consume"/> sees the logits [C,H,W] before they are freed.</summary>
        public void Run(float[] input, LogitsConsumer consume)
        {
            lock (_runLock)
            {
                ThrowIfDisposed();
                var shape = new long[] { 1, 3, InputHeight, InputWidth };
                using var value = OrtValue.CreateTensorValueFromMemory(input, shape);
                using var runOptions = new RunOptions();
                using var results = _session.Run(runOptions, new[] { InputName }, new[] { value }, new[] { OutputName });
                var output = results[0];
                var outShape = output.GetTensorTypeAndShape().Shape;
                long expected = (long)Classes * InputHeight * InputWidth;
                var span = output.GetTensorDataAsSpan<float>();
                if (span.Length != expected)
                    throw new CxasException(CxasErrorKind.InvalidModel,
                        $"Model '{Model.OnnxPath}' produced shape [{string.Join(",", outShape)}]; expected [1,{Classes},{InputHeight},{InputWidth}].", Model.OnnxPath);
                consume(span);
            }
        }

        /// <summary>
        /// Runs <paramref name="count"/> images at once ([count,3,H,W] in <paramref name="input"/>, which may be longer);
        /// <paramref name="consume"/> sees each image's logits in order. Batches help on GPUs; on CPU one image at a time
        /// is as fast and keeps memory low.
        /// </summary>
        public void RunBatch(float[] input, int count, BatchLogitsConsumer consume)
        {
            long plane = (long)InputHeight * InputWidth;
            if (count < 1 || input.Length < count * 3 * plane)
                throw new ArgumentException($"A batch of {count} needs {count * 3 * plane} input values; {input.Length} were given.", nameof(input));
            lock (_runLock)
            {
                ThrowIfDisposed();
                var shape = new long[] { count, 3, InputHeight, InputWidth };
                using var value = OrtValue.CreateTensorValueFromMemory(OrtMemoryInfo.DefaultInstance, new Memory<float>(input, 0, (int)(count * 3 * plane)), shape);
                using var runOptions = new RunOptions();
                using var results = _session.Run(runOptions, new[] { InputName }, new[] { value }, new[] { OutputName });
                var output = results[0];
                long perImage = Classes * plane;
                var span = output.GetTensorDataAsSpan<float>();
                if (span.Length != count * perImage)
                    throw new CxasException(CxasErrorKind.InvalidModel,
                        $"Model '{Model.OnnxPath}' produced shape [{string.Join(",", output.GetTensorTypeAndShape().Shape)}] for a batch of {count}; " +
                        $"expected [{count},{Classes},{InputHeight},{InputWidth}].", Model.OnnxPath);
                for (int i = 0; i < count; i++) consume(i, span.Slice((int)(i * perImage), (int)perImage));
            }
        }

        private bool _disposed;

        /// <summary>Frees the native session once no run is in progress on it; a later run is an <see cref="ObjectDisposedException"/>.</summary>
        public void Dispose()
        {
            lock (_runLock)
            {
                if (_disposed) return;
                _disposed = true;
                _session.Dispose();
            }
        }

        private void ThrowIfDisposed()
        {
            if (_disposed)
                throw new ObjectDisposedException(nameof(ModelSession), $"The session of '{Model.OnnxPath}' on {Device} was disposed with its owner.");
        }
    }

    /// <summary>
    /// An owner of ONNX Runtime sessions: one per model file (its <see cref="CxasModel.Identity"/>: folder, size and times)
    /// and device, created on first use and shared by every caller handed this owner, and disposed with it. A run's
    /// host keeps one (the cmdlets: one per PowerShell runspace, disposed when the runspace closes or the module is
    /// removed, so a second run in a session does not load the model again; a <see cref="Cxas.Runs.SegmentationRun"/>
    /// given none makes its own and disposes it at its end). After <see cref="Dispose"/>, asking for a session is an
    /// <see cref="ObjectDisposedException"/>, and a session handed out earlier refuses to run the same way.
    /// </summary>
    public sealed class ModelSessions : IDisposable
    {
        private readonly ConcurrentDictionary<(string Model, DeviceSpec Device), Lazy<ModelSession>> _sessions =
            new ConcurrentDictionary<(string, DeviceSpec), Lazy<ModelSession>>();
        private readonly Func<CxasModel, DeviceSpec, ModelSession> _create;
        private bool _disposed;

        public ModelSessions() : this(ModelSession.Create) { }

        /// <summary>An owner whose sessions <paramref name="create"/> makes (tests inject the CUDA set-up).</summary>
        internal ModelSessions(Func<CxasModel, DeviceSpec, ModelSession> create) => _create = create;

        /// <summary>How many sessions it holds now.</summary>
        public int Count => _sessions.Count;

        /// <summary>The session for a device; Auto resolves to CUDA when it can be used, else CPU. A failed creation is not kept.</summary>
        internal ModelSession Get(CxasModel model, DeviceSpec device)
        {
            if (model == null) throw new ArgumentNullException(nameof(model));
            var key = (model.Identity, device);
            var lazy = _sessions.GetOrAdd(key, k => new Lazy<ModelSession>(() => _create(model, device)));
            ModelSession session;
            try
            {
                session = lazy.Value;
            }
            catch
            {
                _sessions.TryRemove(key, out _);
                throw;
            }
            // A session made while Dispose ran is disposed here rather than handed out and leaked.
            if (Volatile.Read(ref _disposed))
            {
                Dispose();
                throw new ObjectDisposedException(nameof(ModelSessions), "The model sessions were disposed (the run or the PowerShell session that owned them ended).");
            }
            return session;
        }

        /// <summary>Disposes every session it made (each waits for a run in progress on it to end).</summary>
        public void Dispose()
        {
            Volatile.Write(ref _disposed, true);
            foreach (var key in _sessions.Keys.ToArray())
                if (_sessions.TryRemove(key, out var lazy) && lazy.IsValueCreated)
                {
                    try { lazy.Value.Dispose(); }
                    catch (Exception) { /* a creation that failed has nothing to dispose */ }
                }
        }
    }
}
