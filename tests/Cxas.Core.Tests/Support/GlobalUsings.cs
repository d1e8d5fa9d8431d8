// The namespaces nearly every test file opens, opened once for the whole test project. Test classes live in
// Cxas.Core.Tests.<Folder> (the folder of Cxas.Core they test); the shared helpers (TestSupport, Oracles, Npy,
// TempFolderTests) live in Cxas.Core.Tests itself, so every test sees them without a using.
global using System;
global using System.Collections.Generic;
global using System.IO;
global using System.Linq;
global using Xunit;
global using Xunit.Abstractions;
