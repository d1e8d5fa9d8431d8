using System.Globalization;
using System.Text.RegularExpressions;
using Cxas.Imaging;

namespace Cxas.Dicom.Seg
{
    /// <summary>
    /// A source instance as a derived object (SEG, secondary capture) references it, from its <see cref="DicomIdentity"/>:
    /// refuses a source without the UIDs a reference needs (InvalidData, naming the source), then gives the reference
    /// items and the patient and study modules the derived object copies.
    /// </summary>
    internal sealed class SourceReference
    {
        /// <summary>Projection radiography and secondary capture SOP classes whose instances hold a single frame.</summary>
        private static readonly HashSet<string> SingleFrameClasses = new HashSet<string>
        {
            "1.2.840.10008.5.1.4.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.1.1", "1.2.840.10008.5.1.4.1.1.1.2",
            "1.2.840.10008.5.1.4.1.1.1.2.1", "1.2.840.10008.5.1.4.1.1.1.3", "1.2.840.10008.5.1.4.1.1.1.3.1", "1.2.840.10008.5.1.4.1.1.7",
        };

        private readonly DicomIdentity _source;

        /// <param name="source">The source's identity.</param>
        /// <param name="name">The source's path or URI, for messages.</param>
        public SourceReference(DicomIdentity source, string name)
        {
            _source = source ?? throw new ArgumentNullException(nameof(source));
            SopClass = source.SopClassUid
                ?? throw new CxasException(CxasErrorKind.InvalidData, $"'{name}' has no SOP Class UID: a DICOM Segmentation cannot reference it.", name);
            SopInstance = source.SopInstanceUid
                ?? throw new CxasException(CxasErrorKind.InvalidData, $"'{name}' has no SOP Instance UID: a DICOM Segmentation cannot reference it.", name);
            Study = source.StudyInstanceUid ?? throw new CxasException(CxasErrorKind.InvalidData, $"'{name}' has no Study Instance UID.", name);
            Series = source.SeriesInstanceUid ?? throw new CxasException(CxasErrorKind.InvalidData, $"'{name}' has no Series Instance UID.", name);
            // Frame numbers are referenced only in instances of multi-frame SOP classes (a CR or DX instance is
            // single-frame by definition, whatever its NumberOfFrames says).
            MultiFrame = source.NumberOfFrames is double frames && frames > 1 && !SingleFrameClasses.Contains(SopClass);
        }

        public string SopClass { get; }
        public string SopInstance { get; }
        public string Study { get; }
        public string Series { get; }
        public bool MultiFrame { get; }

        /// <summary>A new (ReferencedSOPClassUID, ReferencedSOPInstanceUID) item.</summary>
        public DicomDataSetBuilder Instance() => new DicomDataSetBuilder()
            .Text(Tags.ReferencedSopClassUid, "UI", SopClass)
            .Text(Tags.ReferencedSopInstanceUid, "UI", SopInstance);

        /// <summary>Patient, Patient Study and General Study: copied from the source.</summary>
        public void AddPatientAndStudy(DicomDataSetBuilder data)
        {
            foreach (var (tag, vr) in DicomIdentityReader.Copied)
                if (tag != Tags.SpecificCharacterSet || _source.Has(tag)) data.Bytes(tag, vr, _source.Value(tag));
            // Patient Study attributes, when the source has them (dcentvfy compares them across the study's instances).
            // Only well-formed values are copied: a malformed one in the source must not make the SEG invalid.
            var age = _source.PatientAge;
            if (age != null && Regex.IsMatch(age, "^[0-9]{3}[DWMY]$")) data.Text(Tags.PatientAge, "AS", age);
            foreach (var (tag, v) in new[] { (Tags.PatientSize, _source.PatientSize), (Tags.PatientWeight, _source.PatientWeight) })
            {
                if (v != null && v.Length <= 16 && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number > 0)
                    data.Text(tag, "DS", v);
            }
            data.Text(Tags.StudyInstanceUid, "UI", Study);
        }
    }
}
