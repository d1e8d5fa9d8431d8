using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Cxas.Models;

namespace Cxas.PowerShell
{
    /// <summary>
    /// Finds models: a folder path, or a name looked up in the module's models folder, the folders listed in
    /// $env:CXAS_MODEL_PATH, and the per-user folder. No name means the module's default (models/default.txt).
    /// </summary>
    internal static class ModelLocator
    {
        public const string DefaultFileName = "default.txt";

        public static IEnumerable<string> Roots(string moduleDirectory)
        {
            yield return Path.Combine(moduleDirectory, "models");
            var env = Environment.GetEnvironmentVariable("CXAS_MODEL_PATH");
            if (!string.IsNullOrEmpty(env))
                foreach (var p in env!.Split(new[] { Path.PathSeparator }, StringSplitOptions.RemoveEmptyEntries)) yield return p;
            yield return UserRoot();
        }

        public static string UserRoot()
        {
            var local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
            return Environment.OSVersion.Platform == PlatformID.Win32NT
                ? Path.Combine(local, "Cxas", "models")
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cxas", "models");
        }

        public static string DefaultName(string moduleDirectory)
        {
            var file = Path.Combine(moduleDirectory, "models", DefaultFileName);
            if (!File.Exists(file))
                throw new CxasException(CxasErrorKind.NotFound, $"No default model is set ('{file}' is missing); pass -Model.", file);
            return File.ReadAllText(file).Trim();
        }

        public static CxasModel Resolve(string? model, string moduleDirectory, string currentDirectory)
        {
            var name = string.IsNullOrWhiteSpace(model) ? DefaultName(moduleDirectory) : model!.Trim();
            var asPath = Path.IsPathRooted(name) ? name : Path.Combine(currentDirectory, name);
            if (Directory.Exists(asPath) && File.Exists(Path.Combine(asPath, CxasModel.ManifestFileName)))
                return CxasModel.Load(asPath);
            foreach (var root in Roots(moduleDirectory))
            {
                var candidate = Path.Combine(root, name);
                if (Directory.Exists(candidate)) return CxasModel.Load(candidate);
            }
            throw new CxasException(CxasErrorKind.NotFound,
                $"Model '{name}' was not found (looked in: {string.Join(", ", Roots(moduleDirectory))}).", name);
        }

        /// <summary>Labels of the model a command line names, for tab completion; empty when it cannot be loaded.</summary>
        public static IReadOnlyList<string> LabelsFor(string? model, string moduleDirectory, string currentDirectory)
        {
            try { return Resolve(model, moduleDirectory, currentDirectory).Labels; }
            catch (Exception) { return Array.Empty<string>(); }
        }
    }
}
