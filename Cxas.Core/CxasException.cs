using System;

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
    }

    /// <summary>An error about one input or output, with the file it concerns.</summary>
    public class CxasException : Exception
    {
        public CxasErrorKind Kind { get; }
        public string? FilePath { get; }

        public CxasException(CxasErrorKind kind, string message, string? filePath = null, Exception? inner = null)
            : base(message, inner)
        {
            Kind = kind;
            FilePath = filePath;
        }

        /// <summary>Stable identifier for error records, e.g. "Cxas.InvalidData".</summary>
        public string ErrorId => "Cxas." + Kind;
    }
}
