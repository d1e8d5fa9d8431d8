using Cxas.Core.Tests.Segmentation;
using Cxas.Export;
using Cxas.Runs;

namespace Cxas.Core.Tests.Runs
{
    /// <summary>A run's result records give back the result they recorded, and read records written by the previous version.</summary>
    public class ResultRecordsTests : TempFolderTests
    {
        public ResultRecordsTests() : base("cxas-records") { }

        private string Input(string name) => Path.GetFullPath(Path.Combine(Dir, "in", name));

        [Fact]
        public void ARecordReadsBackAsTheResultItRecorded()
        {
            var set = new MaskSet(new[] { "heart", "lung" }, 4, 3, 8, 6);
            set.SetGridBit(0, 1, 1, true);
            set.SetGridBit(1, 3, 2, true);
            var source = new SourceInfo(Input("IM0001"), "DICOM")
            {
                RelativePath = "IM0001", RowSpacingMm = 0.2, ColumnSpacingMm = 0.25, SpacingSource = "PixelSpacing", PatientId = "P1",
                StudyInstanceUid = "1.2", SeriesInstanceUid = "1.2.3", SopInstanceUid = "1.2.3.4", SopClassUid = "1.2.840.10008.5.1.4.1.1.1.1",
                FrameOfReferenceUid = "1.2.9", Modality = "DX", ViewPosition = "AP", Warnings = new[] { "a note" },
            };
            var result = new SegmentationResult(source, 8, 6, "m", "/models/m", "Cpu", set, TimeSpan.FromMilliseconds(3), TimeSpan.FromMilliseconds(5), "2");
            using var plan = new OutputPlan(Path.Combine(Dir, "out"), useJournal: false);
            var records = new ResultRecords(plan);
            var planned = plan.Plan(source.Path, source.RelativePath);

            records.Write(planned, result);
            var back = records.Read(planned, out var why);

            Assert.True(back != null, why);
            ResultTransferTests.SameSource(source, back!.Source);
            Assert.Equal(("m", "2", "Cpu", 3.0, 5.0), (back.Model, back.ModelVersion, back.Device, back.DecodeMs, back.InferenceMs));
            Assert.Equal(new long[] { 4, 4 }, new[] { back.PixelCounts["heart"], back.PixelCounts["lung"] });
            Assert.True(back.Masks.GridBit(0, 1, 1) && back.Masks.GridBit(1, 3, 2));
        }

        [Fact]
        public void ARecordWrittenByThePreviousVersionIsRecognised()
        {
            // The record of an input as the previous version wrote it (its transfer form, with the source's JSON written
            // from the then mutable SourceInfo), put where the record of that input belongs.
            using var plan = new OutputPlan(Path.Combine(Dir, "out"), useJournal: false);
            var records = new ResultRecords(plan);
            var planned = plan.Plan(Input("IM0001"), "s1/IM0001");
            records.Write(planned, ResultTransfer.Unpack(ResultTransferTests.VersionOneForm(planned.InputPath)));
            var file = Directory.GetFiles(Path.Combine(Dir, "out", ResultRecords.FolderName)).Single();
            File.WriteAllBytes(file, ResultTransferTests.VersionOneForm(planned.InputPath));

            var back = records.Read(planned, out var why);

            Assert.True(back != null, why);
            Assert.Equal(("s1/IM0001", "PixelSpacing", "7"), (back!.Source.RelativePath, back.Source.SpacingSource, back.ModelVersion));
            Assert.Equal("Multi-frame image: frame 1 of 2 was used; the other frames were ignored.", Assert.Single(back.Source.Warnings));
        }
    }
}
