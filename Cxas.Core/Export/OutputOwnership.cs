using System.Diagnostics;
using System.Threading;

namespace Cxas.Export
{
    /// <summary>
    /// A run's claim on an output folder, so that two runs never plan the same names: an exclusive operating-system
    /// lock on <see cref="LockFileName"/> in the folder (a share-none open: a byte-range-free lock on Windows, flock on
    /// Linux and macOS), taken before the journal is read and held until the run ends. A second run into the folder
    /// waits for it (at most the wait given, with a note), then plans against everything the first one recorded; when
    /// the wait runs out it stops with one <see cref="CxasErrorKind.InUse"/> error before anything is written.
    /// <para>
    /// The lock is the operating system's, so a killed run releases it. Runs of one process share it (a pipeline may
    /// hold two cmdlets writing to one folder). The lock file is never deleted (deleting it would let a third run lock a
    /// new file while the second holds the old one); it is never followed when it is a link. A network share locks
    /// only as far as its protocol does (SMB: yes; NFS: depends on the server); fan-out nodes write under names their
    /// planner holds the lock for and take none themselves.
    /// </para>
    /// </summary>
    internal sealed class OutputOwnership : IDisposable
    {
        public const string LockFileName = ".cxas-plan.lock";
        /// <summary>How long a run waits by default for another that owns its folder.</summary>
        public static readonly TimeSpan DefaultWait = TimeSpan.FromMinutes(10);

        private sealed class Held
        {
            public FileStream Stream = null!;
            public int Count;
        }

        // Process-wide on purpose: a lock file's lock belongs to the process that opened it, so two runs of one process
        // into one folder share the one lock rather than wait on each other.
        private static readonly Dictionary<string, Held> HeldHere = new Dictionary<string, Held>(StringComparer.Ordinal);
        private readonly string _key;
        private bool _released;

        private OutputOwnership(string key) => _key = key;

        /// <summary>
        /// Creates the folder if needed and takes its lock, waiting at most <paramref name="wait"/>; while waiting,
        /// <paramref name="stopping"/> (Ctrl+C) ends the wait with an <see cref="OperationCanceledException"/>.
        /// </summary>
        public static OutputOwnership Acquire(string outputDirectory, TimeSpan wait, Action<string>? note = null, Func<bool>? stopping = null)
        {
            var directory = Path.GetFullPath(outputDirectory);
            var path = Path.Combine(directory, LockFileName);
            lock (HeldHere)
            {
                if (HeldHere.TryGetValue(path, out var mine))
                {
                    mine.Count++;
                    return new OutputOwnership(path);
                }
            }
            IO.AtomicOutput.CreateDirectory(directory);
            var clock = Stopwatch.StartNew();
            bool noted = false;
            while (true)
            {
                var stream = TryOpen(path);
                if (stream != null)
                {
                    IO.AtomicOutput.HideOnWindows(path);
                    lock (HeldHere) HeldHere[path] = new Held { Stream = stream, Count = 1 };
                    return new OutputOwnership(path);
                }
                if (clock.Elapsed >= wait)
                    throw new CxasException(CxasErrorKind.InUse,
                        $"The output folder '{directory}' is in use by another run (it holds '{LockFileName}'); waited {wait.TotalSeconds:0} s. " +
                        "Nothing was written. Run again when it has finished, or give each concurrent run its own output folder.", directory);
                if (!noted)
                {
                    note?.Invoke($"Waiting for the run that owns the output folder '{directory}' (at most {wait.TotalSeconds:0} s).");
                    noted = true;
                }
                Thread.Sleep(200);
                if (stopping?.Invoke() == true) throw new OperationCanceledException("Stopped while waiting for the output folder.");
            }
        }

        /// <summary>The lock file opened exclusively, or null while another process holds it.</summary>
        private static FileStream? TryOpen(string path)
        {
            if (IO.AtomicOutput.IsLinkOrFolder(path))
                throw new CxasException(CxasErrorKind.AlreadyExists,
                    $"'{path}' is a link or a folder, not the lock file a run keeps there; it is not followed. Remove it.", path);
            // Read access is enough for the lock (a share-none open is exclusive whatever the access), and works on a
            // lock file another account made read-only.
            try { return new FileStream(path, FileMode.OpenOrCreate, FileAccess.Read, FileShare.None, 1, FileOptions.None); }
            catch (IOException ex) when (IsLockConflict(ex)) { return null; }
            catch (Exception ex) when (ex is IOException || ex is UnauthorizedAccessException)
            {
                throw new CxasException(CxasErrorKind.WriteFailed, $"Cannot open the lock file '{path}': {ex.Message}", path, ex);
            }
        }

        // Sharing or lock violation (Windows: 32, 33); EWOULDBLOCK from flock (Linux: 11, macOS: 35).
        private static bool IsLockConflict(IOException ex)
        {
            int code = ex.HResult & 0xFFFF;
            return ex.GetType() == typeof(IOException) && (code == 32 || code == 33 || ex.HResult == 11 || ex.HResult == 35);
        }

        public void Dispose()
        {
            if (_released) return;
            _released = true;
            lock (HeldHere)
            {
                if (!HeldHere.TryGetValue(_key, out var held) || --held.Count > 0) return;
                HeldHere.Remove(_key);
                held.Stream.Dispose();
            }
        }
    }
}
