namespace Cxas.Core.Tests.Models
{
    public sealed class ModelCatalogTests : TempFolderTests
    {
        private string MakeModel(string root, string folder, string name, int labels, string? licence = null, bool withOnnx = true)
        {
            var dir = Path.Combine(Dir, root, folder);
            Directory.CreateDirectory(dir);
            var manifest = new ModelManifest
            {
                Name = name,
                Labels = Enumerable.Range(0, labels).Select(i => "c" + i).ToArray(),
                Licence = licence,
            };
            manifest.Save(Path.Combine(dir, CxasModel.ManifestFileName));
            if (withOnnx) File.WriteAllBytes(Path.Combine(dir, CxasModel.OnnxFileName), new byte[] { 1 });
            return dir;
        }

        [Fact]
        public void ModelPathVariableReplacesTheUserFolder()
        {
            var sep = Path.PathSeparator;
            Assert.Equal(new[] { "/a", "/b" }, ModelCatalog.EnvironmentRoots($"/a{sep}{sep} /b "));
            Assert.Equal(new[] { ModelCatalog.UserModelsDirectory }, ModelCatalog.EnvironmentRoots(null));
            Assert.Equal(new[] { ModelCatalog.UserModelsDirectory }, ModelCatalog.EnvironmentRoots(""));
            if (!OperatingSystem.IsWindows())
                Assert.EndsWith(Path.Combine(".cxas", "models"), ModelCatalog.UserModelsDirectory);
            else
                Assert.EndsWith(Path.Combine("Cxas", "models"), ModelCatalog.UserModelsDirectory);
        }

        [Fact]
        public void ListsModelsInRootOrderAndMarksTheDefault()
        {
            var module = Path.Combine(Dir, "module");
            MakeModel("module", "ref", "UNet_ResNet50_default", 159, "CC BY-NC-SA 4.0");
            MakeModel("module", "tiny", "Tiny", 3);
            MakeModel("user", "mine", "Mine", 7);
            MakeModel("user", ".mine.cxas-1234.tmp", "Half", 7); // an unfinished import: hidden
            Directory.CreateDirectory(Path.Combine(Dir, "user", "not-a-model"));
            File.WriteAllText(Path.Combine(module, ModelCatalog.DefaultFileName), "# default model\nref\n");

            var catalog = new ModelCatalog(module, new[] { Path.Combine(Dir, "user"), Path.Combine(Dir, "missing"), module });
            Assert.Equal(3, catalog.Roots.Count); // the module folder is not repeated
            var list = catalog.List();
            Assert.Equal(new[] { "UNet_ResNet50_default", "Tiny", "Mine" }, list.Select(e => e.Name));
            Assert.Equal(new[] { true, false, false }, list.Select(e => e.IsDefault));
            Assert.Equal(159, list[0].LabelCount);
            Assert.Equal("CC BY-NC-SA 4.0", list[0].Licence);
            Assert.Equal("ref", catalog.DefaultModelName);
        }

        [Fact]
        public void ResolvesByManifestNameFolderNamePathOrDefault()
        {
            var module = Path.Combine(Dir, "module");
            var reference = MakeModel("module", "ref", "UNet_ResNet50_default", 159);
            var first = MakeModel("a", "x", "Shared", 2);
            MakeModel("b", "y", "Shared", 4);
            File.WriteAllText(Path.Combine(module, ModelCatalog.DefaultFileName), "ref");
            var catalog = new ModelCatalog(module, new[] { Path.Combine(Dir, "a"), Path.Combine(Dir, "b") });

            Assert.Equal(reference, catalog.ResolveDirectory(null));
            Assert.Equal(reference, catalog.ResolveDirectory("unet_resnet50_DEFAULT"));
            Assert.Equal(reference, catalog.ResolveDirectory("ref"));
            Assert.Equal(first, catalog.ResolveDirectory("Shared")); // earlier root wins
            var other = Path.Combine(Dir, "b", "y");
            Assert.Equal(other, catalog.ResolveDirectory(other));

            var ex = Assert.Throws<CxasException>(() => catalog.ResolveDirectory("nothing"));
            Assert.Equal(CxasErrorKind.NotFound, ex.Kind);
            Assert.Contains("Shared", ex.Message);
            ex = Assert.Throws<CxasException>(() => catalog.ResolveDirectory(Path.Combine(Dir, "nowhere")));
            Assert.Equal(CxasErrorKind.NotFound, ex.Kind);
        }

        [Fact]
        public void NoDefaultFileMeansNoDefaultModel()
        {
            MakeModel("module", "ref", "Ref", 2);
            var catalog = new ModelCatalog(Path.Combine(Dir, "module"), Array.Empty<string>());
            Assert.Null(catalog.DefaultModelName);
            Assert.DoesNotContain(catalog.List(), e => e.IsDefault);
            var ex = Assert.Throws<CxasException>(() => catalog.ResolveDirectory(""));
            Assert.Equal(CxasErrorKind.NotFound, ex.Kind);
        }

        [Fact]
        public void BrokenManifestIsListedWithItsErrorAndCannotBeResolved()
        {
            var dir = Path.Combine(Dir, "root", "broken");
            Directory.CreateDirectory(dir);
            File.WriteAllText(Path.Combine(dir, CxasModel.ManifestFileName), "{ not json");
            MakeModel("root", "noonnx", "NoOnnx", 2, withOnnx: false);
            var catalog = new ModelCatalog(null, new[] { Path.Combine(Dir, "root") });
            var list = catalog.List();
            var broken = list.Single(e => e.Name == "broken");
            Assert.False(broken.IsValid);
            Assert.NotNull(broken.Error);
            Assert.Contains("model.onnx", list.Single(e => e.Name == "NoOnnx").Error);
            var ex = Assert.Throws<CxasException>(() => catalog.ResolveDirectory("broken"));
            Assert.Equal(CxasErrorKind.InvalidModel, ex.Kind);
        }
    }
}
