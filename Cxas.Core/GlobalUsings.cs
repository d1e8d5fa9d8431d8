// The namespaces most of Cxas.Core opens, opened once for the library.
global using System;
global using System.Collections.Generic;
global using System.IO;
global using System.Linq;
