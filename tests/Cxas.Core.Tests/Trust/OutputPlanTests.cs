using System.Diagnostics;
using System.Text;
using Cxas.Export;
using Cxas.IO;

namespace Cxas.Core.Tests.Trust
{
    /// <summary>
    /// The output plan's rules, checked on names alone: every planned path stays inside the output folder, names are
    /// portable and unique, a journal keeps them across runs and is never trusted for paths, and only abandoned Cxas
    /// temporaries are removed.
    /// </summary>
    public class OutputPlanTests : TempFolderTests
    {
        private string OutDir => Path.Combine(Dir, "out");

        private static bool Inside(string root, string path)
        {
            var full = Path.GetFullPath(path);
            return full.StartsWith(Path.GetFullPath(root) + Path.DirectorySeparatorChar, StringComparison.Ordinal);
        }

        [Theory]
        [InlineData("...png", "__")]
        [InlineData(".png", "_")]
        [InlineData("con.png", "_con")]
        [InlineData("NUL.txt.png", "_NUL.txt")]
        [InlineData("com1.dcm", "_com1")]
        [InlineData("a:b|c.png", "a_b_c")]
        [InlineData("trailing. .png", "trailing__")]
        [InlineData("IM0001", "IM0001")]
        public void HostileStemsGetSafeNamesInsideTheOutputFolder(string fileName, string expected)
        {
            using var plan = new OutputPlan(OutDir, useJournal: false);
            var planned = plan.Plan(Path.Combine(Dir, "in", fileName), null);
            Assert.Equal(expected, planned.RelativeBase);
            foreach (var f in MaskWriters.Default.All.Select(w => w.Format))
                Assert.True(Inside(OutDir, planned.TargetFor(f)), $"{f}: {planned.TargetFor(f)}");
        }

        [Fact]
        public void SafeNamesAreFixedPoints()
        {
            foreach (var name in new[] { "..", ".", "", "con", "a/b", "x ", "lpt9.npy", new string('z', 400), "\u00e9" + new string('e', 300) })
            {
                var safe = SafeName.Make(name);
                Assert.Equal(safe, SafeName.Make(safe));
                Assert.True(Encoding.UTF8.GetByteCount(safe) <= SafeName.MaxBytes);
                Assert.NotEqual("..", safe);
                Assert.False(safe.StartsWith(".", StringComparison.Ordinal));
            }
            Assert.NotEqual(SafeName.Make(new string('q', 300)), SafeName.Make(new string('q', 301)));
            Assert.Equal(new string('k', 245), SafeName.Make(new string('k', 245)));
        }

        [Fact]
        public void CollidingInputsGetDistinctNamesAndScannedFoldersAreMirrored()
        {
            using var plan = new OutputPlan(OutDir, useJournal: false);
            var a = plan.Plan(Path.Combine(Dir, "in/a/IM0001"), "a/IM0001");
            var b = plan.Plan(Path.Combine(Dir, "in/b/IM0001"), "b/IM0001");
            Assert.Equal("a/IM0001", a.RelativeBase);
            Assert.Equal("b/IM0001", b.RelativeBase);

            var flat1 = plan.Plan(Path.Combine(Dir, "x/IM0002"), null);
            var flat2 = plan.Plan(Path.Combine(Dir, "y/IM0002"), null);
            Assert.Equal("IM0002", flat1.RelativeBase);
            Assert.Equal("IM0002~" + SafeName.Hash8(Path.Combine(Dir, "y/IM0002")), flat2.RelativeBase);

            var twinJpg = plan.Plan(Path.Combine(Dir, "in/twin.jpg"), "twin.jpg");
            var twinPng = plan.Plan(Path.Combine(Dir, "in/twin.png"), "twin.png");
            Assert.Equal("twin", twinJpg.RelativeBase);
            Assert.Equal("twin.png", twinPng.RelativeBase);

            // "x.npy.png" would write a folder "x.npy" where "x.png" writes its npy file.
            var x = plan.Plan(Path.Combine(Dir, "in/x.png"), "x.png");
            var xnpy = plan.Plan(Path.Combine(Dir, "in/x.npy.png"), "x.npy.png");
            Assert.NotEqual(x.TargetFor(MaskFormat.Npy), xnpy.TargetFor(MaskFormat.Png), StringComparer.OrdinalIgnoreCase);

            // A mask folder "c" and a mirrored folder "c" must not be the same folder; case does not make names distinct.
            var c = plan.Plan(Path.Combine(Dir, "in/c.png"), "c.png");
            var inner = plan.Plan(Path.Combine(Dir, "in/C/y.png"), "C/y.png");
            Assert.Equal("c", c.RelativeBase);
            Assert.StartsWith("C~", inner.RelativeBase);

            // The same input always gets the same place.
            Assert.Equal(b.RelativeBase, plan.Plan(Path.Combine(Dir, "in/b/IM0001"), "b/IM0001").RelativeBase);
        }

        [Fact]
        public void TheJournalKeepsNamesAcrossRunsAndIsNeverTrustedForPaths()
        {
            var first = Path.Combine(Dir, "site1/IM0001");
            var second = Path.Combine(Dir, "site2/IM0001");
            using (var plan = new OutputPlan(OutDir, useJournal: true))
            {
                var p = plan.Plan(first, null);
                plan.Record(p);
                Assert.True(p.Recorded);
            }
            File.AppendAllText(Path.Combine(OutDir, OutputPlan.JournalFileName),
                "../escape\t" + Path.Combine(Dir, "evil1") + "\n" + "a/../../b\t" + Path.Combine(Dir, "evil2") + "\n" + "torn\t" + second);
            using (var plan = new OutputPlan(OutDir, useJournal: true))
            {
                var again = plan.Plan(first, null);
                Assert.Equal("IM0001", again.RelativeBase);
                Assert.True(again.Recorded);
                // Another input of the same name, in a later run, never gets the first one's place.
                var other = plan.Plan(second, null);
                Assert.NotEqual("IM0001", other.RelativeBase);
                Assert.False(other.Recorded);
                // Hostile lines are ignored: those inputs are planned afresh, inside the output folder.
                var evil = plan.Plan(Path.Combine(Dir, "evil1"), null);
                Assert.Equal("evil1", evil.RelativeBase);
                Assert.True(Inside(OutDir, plan.Plan(Path.Combine(Dir, "evil2"), null).TargetFor(MaskFormat.Png)));
            }
        }

        [Fact]
        public void OnlyAbandonedCxasTemporariesAreRemoved()
        {
            Directory.CreateDirectory(OutDir);
            // A process that has ended: its temporaries are abandoned.
            using var ended = Process.Start(new ProcessStartInfo("true") { UseShellExecute = false })!;
            ended.WaitForExit();
            var ours = Path.GetFileName(AtomicOutput.TempNameFor(Path.Combine(OutDir, "x")));
            var parts = ours.Split('-');   // .cxas, host, pid, random.tmp
            var deadFile = Path.Combine(OutDir, $".cxas-{parts[1]}-{ended.Id}-0000beef.tmp");
            var deadFolder = Path.Combine(OutDir, $".cxas-{parts[1]}-{ended.Id}-0000cafe.tmp");
            var live = Path.Combine(OutDir, $".cxas-{parts[1]}-{Environment.ProcessId}-0000f00d.tmp");
            var otherHost = Path.Combine(OutDir, $".cxas-00000000-{ended.Id}-0000d00d.tmp");
            var oldOtherHost = Path.Combine(OutDir, $".cxas-00000000-1-0000aaaa.tmp");
            var lookalike = Path.Combine(OutDir, ".cxas-notes.tmp");
            var user = Path.Combine(OutDir, "user.tmp");
            foreach (var f in new[] { deadFile, live, otherHost, oldOtherHost, lookalike, user }) File.WriteAllText(f, "x");
            Directory.CreateDirectory(deadFolder);
            File.WriteAllText(Path.Combine(deadFolder, "heart.png"), "x");
            File.SetLastWriteTimeUtc(oldOtherHost, DateTime.UtcNow - TimeSpan.FromDays(2));

            Assert.Equal(3, AtomicOutput.RemoveStaleTemporaries(OutDir));
            Assert.False(File.Exists(deadFile));
            Assert.False(Directory.Exists(deadFolder));
            Assert.False(File.Exists(oldOtherHost));
            foreach (var kept in new[] { live, otherHost, lookalike, user }) Assert.True(File.Exists(kept), kept);
        }
    }
}
