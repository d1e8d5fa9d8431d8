// The namespaces nearly every test file opens (the BCL's, xunit's, ImageSharp's, and Cxas' images, masks, models and
// results), opened once for the whole test project. Test classes live in
// Cxas.Core.Tests.<Folder> (the folder of Cxas.Core they test); the shared helpers (TestSupport, Oracles, Npy,
// TempFolderTests) live in Cxas.Core.Tests itself, so every test sees them without a using.
global using System;
global using System.Collections.Generic;
global using System.IO;
global using System.Linq;
global using Xunit;
global using Xunit.Abstractions;
global using SixLabors.ImageSharp;
global using SixLabors.ImageSharp.PixelFormats;
global using Cxas.Imaging;
global using Cxas.Masks;
global using Cxas.Models;
global using Cxas.Segmentation;
