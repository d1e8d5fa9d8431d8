
namespace Cxas
{
    /// <summary>What went wrong, coarse enough to map onto PowerShell's error categories.</summary>
    public enum CxasErrorKind
    {
        InvalidData,
        NotSupported,
        LimitExceeded,
        NotFound,
        AlreadyExists,
        Device,
        InvalidModel,
        WriteFailed,
        InvalidArgument,
        /// <summary>A server could not be reached, timed out or broke off.</summary>
        Network,
        /// <summary>A server refused the credentials (HTTP 401) or the access (403).</summary>
        Unauthorized,
        /// <summary>The request is well formed but not allowed for this object in its state (e.g. removing a model the module ships).</summary>
        InvalidOperation,
        /// <summary>Another run owns the output folder (and did not finish within the wait).</summary>
        InUse,
    }

    /// <summary>
    /// What the caller can do about an error. Core states the remedy; a front end phrases it in its own terms (the
    /// cmdlets name their parameters: <see cref="Overwrite"/> becomes "use -Force"), so Core's messages name none.
    /// </summary>
    public enum CxasRemedy
    {
        None,
        /// <summary>Ask for the existing output to be replaced.</summary>
        Overwrite,
        /// <summary>Name the classes to measure.</summary>
        NameClasses,
        /// <summary>Name a model.</summary>
        NameModel,
        /// <summary>Give a file already downloaded instead of downloading.</summary>
        UseLocalFile,
        /// <summary>Name a proxy, or give a file already downloaded.</summary>
        UseProxyOrLocalFile,
        /// <summary>Name a download source (a URL) or a file already downloaded.</summary>
        NameSourceOrLocalFile,
        /// <summary>Install into a folder this account can write (the per-user one), or get the rights for the machine-wide one.</summary>
        WritableScope,
        /// <summary>Pass credentials as such, not inside the URL.</summary>
        SeparateCredentials,
        /// <summary>Use https, or allow credentials over plain http explicitly (a protected connection).</summary>
        AllowUnencrypted,
        /// <summary>Trust the server's certificate authority, or (test servers only) skip the certificate check.</summary>
        TrustCertificate,
        /// <summary>Give the model a name explicitly.</summary>
        NameNewModel,
        /// <summary>Install the reference model (once; from a file already downloaded if there is one).</summary>
        InstallReferenceModel,
        /// <summary>CUDA was asked for and the companion module with the CUDA provider is not installed.</summary>
        InstallCudaCompanion,
        /// <summary>Inputs an earlier run finished are answered from its records; overwriting segments and writes them again.</summary>
        RedoFinished,
        /// <summary>Raise the download size limit, if the file really is that large.</summary>
        RaiseSizeLimit,
        /// <summary>Allow a download more time, or download it elsewhere and give the file.</summary>
        AllowMoreTime,
    }

    /// <summary>An error about one input or output, with the file it concerns.</summary>
    public class CxasException : Exception
    {
        public CxasErrorKind Kind { get; }
        public string? FilePath { get; }
        /// <summary>What the caller can do about it (phrased by the front end).</summary>
        public CxasRemedy Remedy { get; }

        public CxasException(CxasErrorKind kind, string message, string? filePath = null, Exception? inner = null, CxasRemedy remedy = CxasRemedy.None)
            : base(message, inner)
        {
            Kind = kind;
            FilePath = filePath;
            Remedy = remedy;
        }

        /// <summary>Stable identifier for error records, e.g. "Cxas.InvalidData".</summary>
        public string ErrorId => "Cxas." + Kind;
    }
}
