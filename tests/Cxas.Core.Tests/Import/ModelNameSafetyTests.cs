using Cxas.Import;

namespace Cxas.Core.Tests.Import
{
    /// <summary>
    /// Issue 10: importing '...pth' into d with overwrite deleted the folder above d, because the name taken from the
    /// file was '..'. Nothing outside &lt;destination&gt;/&lt;valid name&gt; may ever be replaced.
    /// </summary>
    public sealed class ModelNameSafetyTests : TempFolderTests
    {
        [Theory]
        [InlineData("")]
        [InlineData(" ")]
        [InlineData(".")]
        [InlineData("..")]
        [InlineData("a/b")]
        [InlineData("a\\b")]
        [InlineData("../x")]
        [InlineData("con")]
        [InlineData("NUL")]
        [InlineData("aux.pth")]
        [InlineData("com1")]
        [InlineData("LPT9")]
        [InlineData(".hidden")]
        [InlineData("trailing.")]
        [InlineData("c:x")]
        [InlineData("tab\tname")]
        public void RefusesNamesThatAreNotPlainFolderNames(string name)
        {
            Assert.False(ModelNames.IsValid(name));
            var ex = Assert.Throws<CxasException>(() => ModelNames.ModelDirectory(Dir, name));
            Assert.Equal(CxasErrorKind.InvalidArgument, ex.Kind);
        }

        [Theory]
        [InlineData("UNet_ResNet50_default")]
        [InlineData("cxas-anatomy-r18")]
        [InlineData("model v2.1")]
        [InlineData("console")]
        [InlineData("com10")]
        public void AcceptsOrdinaryNames(string name)
        {
            Assert.True(ModelNames.IsValid(name));
            Assert.Equal(Path.Combine(Path.GetFullPath(Dir), name), ModelNames.ModelDirectory(Dir, name));
        }

        [Fact]
        public void RefusesOverlongNames() => Assert.False(ModelNames.IsValid(new string('a', ModelNames.MaxLength + 1)));

        [Theory]
        [InlineData("..")]
        [InlineData(".")]
        public void ImportWithOverwriteIntoDotDotNeverDeletesTheFolderAbove(string leaf)
        {
            var parent = Path.Combine(Dir, "parent");
            var destination = Path.Combine(parent, "d");
            Directory.CreateDirectory(destination);
            var keep = Path.Combine(parent, "keep.txt");
            File.WriteAllText(keep, "precious");
            File.WriteAllText(Path.Combine(destination, "also-precious.txt"), "x");

            var ex = Assert.Throws<CxasException>(() =>
                ModelImporter.Import(TestSupport.ReducedCheckpoint, Path.Combine(destination, leaf), overwrite: true,
                    new ImportOptions { Verify = false }));
            Assert.Equal(CxasErrorKind.InvalidArgument, ex.Kind);
            Assert.True(File.Exists(keep));
            Assert.True(File.Exists(Path.Combine(destination, "also-precious.txt")));
        }

        [Theory]
        [InlineData("...pth")]
        [InlineData("..pth")]
        [InlineData(".pth")]
        [InlineData("con.pth")]
        public void NameTakenFromAnOddFileNameIsRefused(string fileName)
        {
            var path = Path.Combine(Dir, fileName);
            File.Copy(TestSupport.ReducedCheckpoint, path);
            var ex = Assert.Throws<CxasException>(() => ModelImporter.DefaultName(path));
            Assert.Equal(CxasErrorKind.InvalidArgument, ex.Kind);
            // Core says what to do; the cmdlet layer names its parameter (-Name).
            Assert.Equal(CxasRemedy.NameNewModel, ex.Remedy);
            Assert.Contains("file name", ex.Message);
        }
    }
}
