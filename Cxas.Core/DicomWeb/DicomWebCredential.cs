using System.Net.Http.Headers;
using System.Text;

namespace Cxas.DicomWeb
{
    /// <summary>
    /// The authorisation a DICOMweb client sends: HTTP Basic (user and password) or a Bearer token. The secret is kept only
    /// to build the Authorization header; the object never shows it (<see cref="ToString"/> says which scheme, redacted), so
    /// it cannot leak into results, verbose or debug output, error messages or logs.
    /// </summary>
    public sealed class DicomWebCredential
    {
        private readonly string _parameter;

        private DicomWebCredential(string scheme, string parameter, string? user)
        {
            Scheme = scheme;
            _parameter = parameter;
            UserName = user;
        }

        /// <summary>"Basic" or "Bearer".</summary>
        public string Scheme { get; }
        /// <summary>The user name of Basic credentials (not secret); null for a token.</summary>
        public string? UserName { get; }

        public static DicomWebCredential Basic(string user, string password)
        {
            if (user == null || user.Contains(":"))
                throw new CxasException(CxasErrorKind.InvalidArgument, "A Basic user name must be given and cannot contain ':'.");
            return new DicomWebCredential("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes(user + ":" + (password ?? ""))), user);
        }

        public static DicomWebCredential Bearer(string token)
        {
            if (string.IsNullOrWhiteSpace(token) || token.IndexOfAny(new[] { '\r', '\n' }) >= 0)
                throw new CxasException(CxasErrorKind.InvalidArgument, "The token is empty or contains a line break.");
            return new DicomWebCredential("Bearer", token.Trim(), null);
        }

        internal AuthenticationHeaderValue Header() => new AuthenticationHeaderValue(Scheme, _parameter);

        public override string ToString() => UserName != null ? $"{Scheme} {UserName}:(redacted)" : $"{Scheme} (redacted)";
    }
}
