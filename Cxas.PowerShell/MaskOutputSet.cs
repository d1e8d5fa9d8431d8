using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Management.Automation;
using Cxas.Export;
using Cxas.Segmentation;

namespace Cxas.PowerShell
{
    /// <summary>
    /// The mask writers of one cmdlet invocation (one per output type), with ShouldProcess, -Force and -NoClobber
    /// applied to every write. Run-level files (COCO) are completed at the end or discarded if the run stops.
    /// </summary>
    internal sealed class MaskOutputSet : IDisposable
    {
        private readonly PSCmdlet _cmdlet;
        private readonly List<MaskExporter> _exporters = new List<MaskExporter>();
        private readonly bool _noClobber;
        private readonly HashSet<string> _cocoDeclined = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

        public MaskOutputSet(PSCmdlet cmdlet, string outputDirectory, IEnumerable<string> formats, bool force, bool noClobber, IReadOnlyList<string>? labels)
        {
            _cmdlet = cmdlet;
            _noClobber = noClobber;
            foreach (var f in formats.Select(MaskExporter.ParseFormat).Distinct())
                _exporters.Add(new MaskExporter(outputDirectory, f, force && !noClobber, labels));
        }

        public bool Any => _exporters.Count > 0;

        /// <summary>Writes every output of one result; failures become non-terminating errors naming the file.</summary>
        public IEnumerable<MaskExportRecord> Write(SegmentationResult result)
        {
            var records = new List<MaskExportRecord>();
            foreach (var exporter in _exporters)
            {
                var target = exporter.TargetFor(result);
                bool runLevel = exporter.IsRunLevel;
                try
                {
                    if (runLevel && _cocoDeclined.Contains(target)) continue;
                    if (_noClobber && !runLevel && (File.Exists(target) || Directory.Exists(target)))
                    {
                        _cmdlet.WriteWarning($"Skipped '{target}': it already exists (-NoClobber).");
                        continue;
                    }
                    var action = runLevel ? $"Add {result.FileName} to COCO file" : $"Write {exporter.FormatLabel} masks of {result.FileName}";
                    if (!_cmdlet.ShouldProcess(target, action))
                    {
                        if (runLevel) _cocoDeclined.Add(target);
                        continue;
                    }
                    records.Add(exporter.Export(result));
                }
                catch (Exception ex) when (!(ex is PipelineStoppedException))
                {
                    if (runLevel && ex is CxasException cx && cx.Kind == CxasErrorKind.AlreadyExists && _noClobber)
                    {
                        _cmdlet.WriteWarning($"Skipped '{target}': it already exists (-NoClobber).");
                        _cocoDeclined.Add(target);
                        continue;
                    }
                    if (runLevel && ex is CxasException) _cocoDeclined.Add(target);
                    _cmdlet.WriteError(CxasCmdlet.ToErrorRecord(ex, result.Path));
                }
            }
            return records;
        }

        /// <summary>Completes run-level outputs.</summary>
        public IEnumerable<MaskExportRecord> Complete()
        {
            var records = new List<MaskExportRecord>();
            foreach (var exporter in _exporters)
            {
                try
                {
                    var record = exporter.Complete();
                    if (record != null) records.Add(record);
                }
                catch (Exception ex) when (!(ex is PipelineStoppedException))
                {
                    _cmdlet.WriteError(CxasCmdlet.ToErrorRecord(ex, null));
                }
            }
            return records;
        }

        public void Dispose()
        {
            foreach (var e in _exporters) e.Dispose();
            _exporters.Clear();
        }
    }
}
