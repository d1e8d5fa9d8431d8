namespace Cxas.Core.Tests.Trust
{
    /// <summary>Folder scans stream their files in full-path order, skip hidden entries and never loop.</summary>
    public class FolderScannerTests : TempFolderTests
    {
        private static readonly byte[] PngHead = { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0 };

        private void Touch(string relative)
        {
            var path = Path.Combine(Dir, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllBytes(path, PngHead);
        }

        [Fact]
        public void FilesComeInFullPathOrderWithTheirRelativePaths()
        {
            foreach (var f in new[] { "b.png", "b/c.png", "a.png", "a/z.jpg", "a/notes.txt", ".hidden.png", ".hid/x.png", "noext" }) Touch(f);
            File.WriteAllText(Path.Combine(Dir, "text"), "not an image");
            var found = new FolderScanner { Recurse = true }.Scan(Dir).ToList();
            var expected = new[] { "a.png", "a/z.jpg", "b.png", "b/c.png", "noext" };
            Assert.Equal(expected, found.Select(f => f.RelativePath));
            Assert.Equal(expected.Select(e => Path.Combine(Dir, e)), found.Select(f => f.Path));
            Assert.Equal(new[] { "a.png", "b.png", "noext" }, new FolderScanner().Scan(Dir).Select(f => f.RelativePath));
        }

        [Fact]
        public void LaterFoldersAreListedOnlyWhenReached()
        {
            Touch("a/1.png");
            Touch("z/1.png");
            using var files = new FolderScanner { Recurse = true }.Scan(Dir).GetEnumerator();
            Assert.True(files.MoveNext());
            Assert.Equal("a/1.png", files.Current.RelativePath);
            // Added after the scan began: seen, because "z" had not been listed yet.
            Touch("z/2.png");
            Assert.True(files.MoveNext());
            Assert.True(files.MoveNext());
            Assert.Equal("z/2.png", files.Current.RelativePath);
        }

        [Fact]
        public void LinkLoopsEndAndEveryFolderIsScannedOnce()
        {
            Touch("a.png");
            Touch("sub/b.png");
            Directory.CreateSymbolicLink(Path.Combine(Dir, "sub", "loop"), "..");
            Directory.CreateSymbolicLink(Path.Combine(Dir, "again"), Path.Combine(Dir, "sub"));
            var skipped = new System.Collections.Generic.List<string>();
            var plain = new FolderScanner { Recurse = true, LinkSkipped = skipped.Add }.Scan(Dir).Select(f => f.RelativePath).ToList();
            Assert.Equal(new[] { "a.png", "sub/b.png" }, plain);
            Assert.Equal(new[] { Path.Combine(Dir, "again"), Path.Combine(Dir, "sub", "loop") }, skipped.OrderBy(p => p, StringComparer.Ordinal));
            var followed = new FolderScanner { Recurse = true, FollowLinks = true }.Scan(Dir).Select(f => f.RelativePath).ToList();
            // "again" is "sub" under another name: its files come once, from whichever name is reached first.
            Assert.Equal(new[] { "a.png", "again/b.png" }, followed);
        }
    }
}
