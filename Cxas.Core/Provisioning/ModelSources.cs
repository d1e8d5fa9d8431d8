using Cxas.Import;
using Cxas.Models;

namespace Cxas.Provisioning
{
    /// <summary>One place a model's checkpoint can be fetched from.</summary>
    internal sealed class ModelSource
    {
        public ModelSource(string kind, Uri url, bool driveConfirmation)
        {
            Kind = kind; Url = url; DriveConfirmation = driveConfirmation;
        }
        /// <summary>Reference, TorchXRayVision, Uri or File.</summary>
        public string Kind { get; }
        public Uri Url { get; }
        public bool DriveConfirmation { get; }
        public override string ToString() => $"{Kind} ({Url})";
    }

    /// <summary>
    /// The known homes of the reference weights (UNet_ResNet50_default, CC BY-NC-SA 4.0): the reference tool's
    /// Google Drive file and TorchXRayVision's re-packed copy, a GitHub release asset. Neither is reachable from the
    /// test machines; <see cref="BaseUrlVariable"/> points both at another server (the tests' loopback server).
    /// </summary>
    internal static class ModelSources
    {
        public const string Auto = "Auto", Reference = "Reference", TorchXRayVision = "TorchXRayVision";

        /// <summary>The reference's <c>model_urls</c> entry for UNet_ResNet50_default: a Google Drive file id.</summary>
        public const string ReferenceDriveFileId = "1Y9zubvMzkYHoAqz-NvV6vniH5FKAF2iV";
        public const string ReferenceDriveUrl = "https://drive.google.com/uc?export=download&id=" + ReferenceDriveFileId;
        public const string TorchXRayVisionPath = "/mlmed/torchxrayvision/releases/download/v1/baseline_models_cxas_UNet_ResNet50_default_repack.pth";
        public const string TorchXRayVisionUrl = "https://github.com" + TorchXRayVisionPath;

        /// <summary>
        /// When set (to an http URL), the known sources are read from that server instead: {base}/github/... for
        /// TorchXRayVision and {base}/drive/uc?export=download&amp;id=... for the reference. For tests.
        /// </summary>
        public const string BaseUrlVariable = "CXAS_MODEL_SOURCE_BASE";

        public const string Licence = "CC BY-NC-SA 4.0";
        public const string LicenceUrl = "https://creativecommons.org/licenses/by-nc-sa/4.0/";

        /// <summary>What a user must accept before the reference weights are installed.</summary>
        public static string LicenceText(string name) =>
            $"The weights of '{name}' (the CXAS reference model, by its authors) are licensed under Creative Commons " +
            $"Attribution-NonCommercial-ShareAlike 4.0 International ({Licence}, {LicenceUrl}): attribution is required, " +
            "commercial use is not allowed, and adaptations must be shared under the same licence. They are research " +
            "weights, not a medical device: not for diagnosis. Cxas downloads them from the source you choose and does not " +
            "redistribute them.";

        /// <summary>The model whose known sources these are.</summary>
        public static bool IsKnownModel(string name) => string.Equals(name, ModelImporter.ReferenceModelName, StringComparison.OrdinalIgnoreCase);

        /// <summary>
        /// The sources to try, in order, for <paramref name="source"/>: Auto (TorchXRayVision's GitHub asset, then the
        /// Drive file), Reference, TorchXRayVision, or an http(s) URL.
        /// </summary>
        public static IReadOnlyList<ModelSource> Resolve(string? source, string name, string? baseUrl = null)
        {
            var kind = string.IsNullOrWhiteSpace(source) ? Auto : source!.Trim();
            baseUrl ??= Environment.GetEnvironmentVariable(BaseUrlVariable);
            baseUrl = string.IsNullOrWhiteSpace(baseUrl) ? null : baseUrl!.TrimEnd('/');
            var github = new ModelSource(TorchXRayVision, new Uri(baseUrl == null ? TorchXRayVisionUrl : baseUrl + "/github" + TorchXRayVisionPath), false);
            var drive = new ModelSource(Reference,
                new Uri(baseUrl == null ? ReferenceDriveUrl : baseUrl + "/drive/uc?export=download&id=" + ReferenceDriveFileId), true);

            bool named = kind.Equals(Auto, StringComparison.OrdinalIgnoreCase) || kind.Equals(Reference, StringComparison.OrdinalIgnoreCase)
                         || kind.Equals(TorchXRayVision, StringComparison.OrdinalIgnoreCase);
            if (named && !IsKnownModel(name))
                throw new CxasException(CxasErrorKind.InvalidArgument,
                    $"There is no known source for a model named '{name}' (only {ModelImporter.ReferenceModelName} has one).",
                    remedy: CxasRemedy.NameSourceOrLocalFile);
            if (kind.Equals(Auto, StringComparison.OrdinalIgnoreCase)) return new[] { github, drive };
            if (kind.Equals(Reference, StringComparison.OrdinalIgnoreCase)) return new[] { drive };
            if (kind.Equals(TorchXRayVision, StringComparison.OrdinalIgnoreCase)) return new[] { github };
            if (Uri.TryCreate(kind, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
            {
                bool isDrive = uri.Host.EndsWith("drive.google.com", StringComparison.OrdinalIgnoreCase)
                               || uri.Host.EndsWith("drive.usercontent.google.com", StringComparison.OrdinalIgnoreCase);
                return new[] { new ModelSource("Uri", uri, isDrive) };
            }
            throw new CxasException(CxasErrorKind.InvalidArgument,
                $"Source '{kind}' is not Auto, Reference, TorchXRayVision or an http(s) URL.", remedy: CxasRemedy.UseLocalFile);
        }

        /// <summary>
        /// Checkpoints the reference tool itself left behind (it downloads to ~/.cxas/weights, or under
        /// $CXAS_PATH/.cxas/weights), which can be installed with -Path without downloading again.
        /// </summary>
        public static IReadOnlyList<string> ReferenceToolCheckpoints() => ModelCatalog.ReferenceToolCheckpoints();
    }
}
