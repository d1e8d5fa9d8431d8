using System.Reflection;
using Cxas.PowerShell;

namespace Cxas.Core.Tests
{
    /// <summary>
    /// The Windows PowerShell 5.1 resolver of the cmdlet assembly (ModuleBootstrap.FrameworkResolver), on its own, under
    /// Mono (.NET Framework's one load context): which requests it answers from the module's lib folder and which it
    /// leaves to the host. The lib folder here holds copies of two real signed assemblies the module ships; each
    /// expectation is built from the names read back from those files.
    /// </summary>
    public sealed class FrameworkResolverTests : IDisposable
    {
        private readonly string _lib = Path.Combine(Path.GetTempPath(), "cxas-resolver-" + Guid.NewGuid().ToString("N").Substring(0, 8));
        private readonly AssemblyName _memory;
        private readonly AssemblyName _imageSharp;
        private readonly ModuleBootstrap.FrameworkResolver _resolver;

        public FrameworkResolverTests()
        {
            Directory.CreateDirectory(_lib);
            foreach (var name in new[] { "System.Memory.dll", "SixLabors.ImageSharp.dll" })
                File.Copy(Path.Combine(AppDomain.CurrentDomain.BaseDirectory, name), Path.Combine(_lib, name));
            _memory = AssemblyName.GetAssemblyName(Path.Combine(_lib, "System.Memory.dll"));
            _imageSharp = AssemblyName.GetAssemblyName(Path.Combine(_lib, "SixLabors.ImageSharp.dll"));
            _resolver = new ModuleBootstrap.FrameworkResolver(_lib);
        }

        public void Dispose() => Directory.Delete(_lib, true);

        private static string Request(AssemblyName shipped, Version version, byte[]? token = null)
        {
            var name = new AssemblyName(shipped.Name) { Version = version, CultureInfo = System.Globalization.CultureInfo.InvariantCulture };
            name.SetPublicKeyToken(token ?? shipped.GetPublicKeyToken());
            return name.FullName;
        }

        [Fact]
        public void AnswersForTheShippedVersionAndOlderOnes()
        {
            var v = _memory.Version!;
            Assert.Equal(Path.Combine(_lib, "System.Memory.dll"), _resolver.PathFor(Request(_memory, v)));
            // An older reference (the binding redirect a module cannot declare) gets the shipped file.
            Assert.Equal(Path.Combine(_lib, "System.Memory.dll"), _resolver.PathFor(Request(_memory, new Version(v.Major, 0, 0, 0))));
            Assert.Equal(Path.Combine(_lib, "SixLabors.ImageSharp.dll"), _resolver.PathFor(Request(_imageSharp, _imageSharp.Version!)));
            // A partial name (no version, no token) too.
            Assert.Equal(Path.Combine(_lib, "SixLabors.ImageSharp.dll"), _resolver.PathFor("SixLabors.ImageSharp"));
        }

        [Fact]
        public void RefusesANewerVersionThanShipped()
        {
            var v = _imageSharp.Version!;
            Assert.Null(_resolver.PathFor(Request(_imageSharp, new Version(v.Major + 1, 0, 0, 0))));
            Assert.Null(_resolver.PathFor(Request(_memory, new Version(_memory.Version!.Major, _memory.Version.Minor, _memory.Version.Build, _memory.Version.Revision + 1))));
        }

        [Fact]
        public void RefusesAnotherPublisher()
        {
            var other = new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 };
            Assert.Null(_resolver.PathFor(Request(_memory, _memory.Version!, other)));
        }

        [Fact]
        public void RefusesWhatLibDoesNotHold()
        {
            Assert.Null(_resolver.PathFor("Newtonsoft.Json, Version=13.0.0.0, Culture=neutral, PublicKeyToken=30ad4fe6b2a6aeed"));
            Assert.Null(_resolver.PathFor("System.Management.Automation, Version=3.0.0.0, Culture=neutral, PublicKeyToken=31bf3856ad364e35"));
        }

        [Fact]
        public void RefusesANameThatIsAPath()
        {
            // A file one folder up, next to lib: a request naming it by a relative path must not reach it.
            var outside = Path.Combine(Path.GetDirectoryName(_lib)!, Path.GetFileName(_lib) + "-outside");
            Directory.CreateDirectory(outside);
            try
            {
                File.Copy(Path.Combine(_lib, "System.Memory.dll"), Path.Combine(outside, "System.Memory.dll"));
                Assert.Null(_resolver.PathFor("../" + Path.GetFileName(outside) + "/System.Memory"));
                Assert.Null(_resolver.PathFor("..\\" + Path.GetFileName(outside) + "\\System.Memory"));
            }
            finally { Directory.Delete(outside, true); }
        }
    }
}
