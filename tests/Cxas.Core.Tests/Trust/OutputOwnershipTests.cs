using System.Diagnostics;
using Cxas.Export;

namespace Cxas.Core.Tests.Trust
{
    /// <summary>
    /// An output folder is owned by one run at a time: a lock held by another process (util-linux flock(1), the
    /// same kind of lock .NET takes) makes a second owner wait, and once the wait runs out it is one InUse error with
    /// nothing written (a stop ends the wait at once); when the holder ends, the folder is free again.
    /// </summary>
    public class OutputOwnershipTests : TempFolderTests
    {
        private string OutDir => Path.Combine(Dir, "out");

        private static Process HoldLock(string lockFile)
        {
            var psi = new ProcessStartInfo(TestSupport.Tool("flock")!, $"-o -x \"{lockFile}\" -c \"echo held; sleep 60\"") { RedirectStandardOutput = true };
            var p = Process.Start(psi)!;
            Assert.Equal("held", p.StandardOutput.ReadLine());
            return p;
        }

        [OracleFact("flock")]
        public void AFolderLockedByAnotherProcessIsInUseAfterTheWaitAndFreeWhenItEnds()
        {
            Oracles.Require("flock");
            Directory.CreateDirectory(OutDir);
            var lockFile = Path.Combine(OutDir, OutputOwnership.LockFileName);
            var holder = HoldLock(lockFile);
            try
            {
                var notes = new List<string>();
                var ex = Assert.Throws<CxasException>(() => OutputOwnership.Acquire(OutDir, TimeSpan.FromSeconds(1), notes.Add));
                Assert.Equal(CxasErrorKind.InUse, ex.Kind);
                Assert.Single(notes);
                Assert.Equal(new[] { lockFile }, Directory.GetFileSystemEntries(OutDir));
                // A stop (Ctrl+C) ends a long wait at once.
                Assert.Throws<OperationCanceledException>(() => OutputOwnership.Acquire(OutDir, TimeSpan.FromHours(1), null, () => true));
            }
            finally
            {
                holder.Kill(entireProcessTree: true);
                holder.WaitForExit();
            }
            using (OutputOwnership.Acquire(OutDir, TimeSpan.FromSeconds(30)))
            {
                // Held here: another process cannot take it now.
                var probe = Process.Start(new ProcessStartInfo(TestSupport.Tool("flock")!, $"-n -x \"{lockFile}\" -c true"))!;
                probe.WaitForExit();
                Assert.NotEqual(0, probe.ExitCode);
            }
        }

        [Fact]
        public void ALockFileThatIsALinkIsRefused()
        {
            Directory.CreateDirectory(OutDir);
            var elsewhere = Path.Combine(Dir, "elsewhere");
            File.WriteAllText(elsewhere, "theirs");
            File.CreateSymbolicLink(Path.Combine(OutDir, OutputOwnership.LockFileName), elsewhere);
            var ex = Assert.Throws<CxasException>(() => OutputOwnership.Acquire(OutDir, TimeSpan.FromSeconds(1)));
            Assert.Equal(CxasErrorKind.AlreadyExists, ex.Kind);
            Assert.Equal("theirs", File.ReadAllText(elsewhere));
        }
    }
}
