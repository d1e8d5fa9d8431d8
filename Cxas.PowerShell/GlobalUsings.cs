// The namespaces almost every cmdlet file opens, opened once for the project.
global using System;
global using System.Collections.Generic;
global using System.IO;
global using System.Linq;
global using System.Management.Automation;
global using Cxas.Segmentation;
