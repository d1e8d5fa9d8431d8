using System.Net;
using System.Threading;

namespace Cxas.DicomWeb
{
    /// <summary>How a <see cref="DicomWebClient"/> connects and retries. Options a caller fills, so settable (results are immutable).</summary>
    public sealed class DicomWebOptions
    {
        /// <summary>Accept any server certificate (only when asked: -SkipCertificateCheck).</summary>
        public bool SkipCertificateCheck { get; set; }
        /// <summary>Send credentials over plain http (refused otherwise, as Invoke-RestMethod does).</summary>
        public bool AllowUnencryptedAuthentication { get; set; }
        /// <summary>Attempts per request for 429, 502, 503, 504, dropped connections and timeouts (at least 1).</summary>
        public int MaxAttempts { get; set; } = 4;
        /// <summary>First backoff; it doubles on each retry.</summary>
        public TimeSpan BaseDelay { get; set; } = TimeSpan.FromSeconds(0.5);
        /// <summary>Longest wait between attempts, Retry-After included (a longer Retry-After ends the retries).</summary>
        public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);
        /// <summary>Time allowed for one request, response body included.</summary>
        public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(120);
        /// <summary>A proxy; null uses the system's (loopback addresses bypass it).</summary>
        public IWebProxy? Proxy { get; set; }
        /// <summary>Largest instance accepted (a WADO-RS answer), in bytes: 256 MiB, several times a large radiograph.</summary>
        public long MaxResponseBytes { get; set; } = 256L << 20;
        /// <summary>Largest JSON answer accepted (a QIDO-RS page, a STOW-RS response), in bytes.</summary>
        public long MaxJsonBytes { get; set; } = 32L << 20;
        /// <summary>Most QIDO-RS pages one search asks for (a million instances at 100 a page).</summary>
        public int MaxPages { get; set; } = 10_000;
        /// <summary>
        /// Where the client's messages about requests and retries go (never credentials); null: into the client's own
        /// queue, which <see cref="DicomWebClient.TakeMessages"/> empties (the cmdlets write it to their verbose stream).
        /// </summary>
        public Action<string>? Log { get; set; }
        /// <summary>How to wait between attempts (tests replace it).</summary>
        public Action<TimeSpan, CancellationToken> Delay { get; set; } = (t, c) => { if (c.WaitHandle.WaitOne(t)) c.ThrowIfCancellationRequested(); };
    }

    /// <summary>What the server said about one stored object (STOW-RS response).</summary>
    public sealed class StoreOutcome
    {
        public string SopInstanceUid { get; set; } = "";
        public bool Stored { get; set; }
        public string? RetrieveUrl { get; set; }
        /// <summary>FailureReason (0008,1197) when the server refused the object.</summary>
        public int? FailureReason { get; set; }
        /// <summary>The server's ErrorComment (0000,0902) on the refusal, cleaned of control characters; null when none.</summary>
        public string? FailureComment { get; set; }
        /// <summary>WarningReason (0008,1196) values, as "0xB000 (coercion of data elements)" text.</summary>
        public List<string> Warnings { get; } = new List<string>();
    }

    /// <summary>Search criteria for <see cref="DicomWebClient.Search"/>. Criteria a caller fills, so settable (the instances found are immutable).</summary>
    public sealed class DicomWebQuery
    {
        public string? StudyInstanceUid { get; set; }
        public string? SeriesInstanceUid { get; set; }
        public string? PatientId { get; set; }
        /// <summary>Modalities; instances of any of them match (one query per modality).</summary>
        public IReadOnlyList<string>? Modality { get; set; }
        /// <summary>"yyyyMMdd" or "yyyyMMdd-yyyyMMdd".</summary>
        public string? StudyDate { get; set; }
        /// <summary>Most instances returned (0: all).</summary>
        public int Limit { get; set; }
        /// <summary>Also return instances that are not images (SR, PR, SEG...).</summary>
        public bool IncludeNonImage { get; set; }
        /// <summary>Instances asked for per QIDO request.</summary>
        public int PageSize { get; set; } = 100;
    }
}
