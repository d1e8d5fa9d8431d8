using System.Globalization;

namespace Cxas.Dicom.Seg
{
    /// <summary>
    /// Coding of the 159 reference classes (PAX-Ray++ label list) for DICOM Segmentation.
    /// Category is always (123037004, SCT, "Anatomical Structure"). A class gets a SNOMED CT type code only where one
    /// concept means exactly that structure; sides are the laterality modifiers Right (24028007) / Left (7771000), and
    /// "Right and left" (51440002) for classes that cover both sides. Parts with no single concept (anterior/posterior rib
    /// parts, radiological lung zones, mediastinal compartments, hemidiaphragms, the tracheal bifurcation, the
    /// cardiomediastinum) are coded in the private scheme <see cref="PrivateScheme"/>, declared in the object's
    /// CodingSchemeIdentificationSequence, with the class name as code meaning: a local code is never wrong, a borrowed
    /// parent concept would be. Classes of other models that this table does not know are coded privately too.
    /// </summary>
    internal static class SegCoding
    {
        public const string PrivateScheme = "99CXAS";
        public const string PrivateSchemeName = "Cxas anatomy classes (PAX-Ray++ label set)";

        public static readonly CodedConcept AnatomicalStructure = new CodedConcept("123037004", "SCT", "Anatomical Structure");
        public static readonly CodedConcept Right = new CodedConcept("24028007", "SCT", "Right");
        public static readonly CodedConcept Left = new CodedConcept("7771000", "SCT", "Left");
        public static readonly CodedConcept RightAndLeft = new CodedConcept("51440002", "SCT", "Right and left");

        private static readonly Dictionary<string, SegmentCoding> Table = Build();

        /// <summary>Number of classes the table codes explicitly (the reference model's 159).</summary>
        public static int KnownCount => Table.Count;

        /// <summary>The coding of a class by its name (case-insensitive); unknown names get a private code.</summary>
        public static SegmentCoding For(string label)
        {
            if (Table.TryGetValue(label, out var c)) return c;
            return new SegmentCoding(AnatomicalStructure, new CodedConcept(PrivateCodeFor(label), PrivateScheme, Truncate(label, 64)), null);
        }

        public static bool IsKnown(string label) => Table.ContainsKey(label);

        private static string Truncate(string s, int n) => s.Length <= n ? s : s.Substring(0, n);

        /// <summary>A stable private code for a name outside the table (FNV-1a of the lower-case name).</summary>
        private static string PrivateCodeFor(string label)
        {
            uint h = 2166136261;
            foreach (char ch in label.ToLowerInvariant()) { h ^= ch; h *= 16777619; }
            return "X" + h.ToString("X8", CultureInfo.InvariantCulture);
        }

        private static SegmentCoding Sct(string code, string meaning, CodedConcept? modifier = null) =>
            new SegmentCoding(AnatomicalStructure, new CodedConcept(code, "SCT", meaning), modifier);

        private static Dictionary<string, SegmentCoding> Build()
        {
            var t = new Dictionary<string, SegmentCoding>(StringComparer.OrdinalIgnoreCase);
            int next = 1;
            void Private(string label) =>
                t[label] = new SegmentCoding(AnatomicalStructure, new CodedConcept("CX" + (next++).ToString("D3", CultureInfo.InvariantCulture), PrivateScheme, label), null);

            // Spine
            t["spine"] = Sct("421060004", "Spine");
            t["cervical spine"] = Sct("122494005", "Cervical spine");
            t["thoracic spine"] = Sct("122495006", "Thoracic spine");
            t["lumbar spine"] = Sct("122496007", "Lumbar spine");
            var vertebrae = new (string Name, string Code)[]
            {
                ("C1", "14806007"), ("C2", "39976000"), ("C3", "113205007"), ("C4", "5329002"), ("C5", "36978003"), ("C6", "36054005"),
                ("C7", "87391001"), ("T1", "64864005"), ("T2", "53733008"), ("T3", "1626008"), ("T4", "73071006"), ("T5", "56401006"),
                ("T6", "45296009"), ("T7", "62487009"), ("T8", "11068009"), ("T9", "82687006"), ("T10", "7610001"), ("T11", "12989004"),
                ("T12", "23215003"), ("L1", "66794005"), ("L2", "14293000"), ("L3", "36470004"), ("L4", "11994002"), ("L5", "49668003"),
            };
            foreach (var (name, code) in vertebrae) t["vertebrae " + name] = Sct(code, name + " vertebra");

            // Thoracic cage and shoulder girdle
            t["rib_cartilage"] = Sct("50016007", "Costal cartilage");
            t["sternum"] = Sct("56873002", "Sternum");
            t["clavicles"] = Sct("51299004", "Clavicle", RightAndLeft);
            t["clavicle left"] = Sct("51299004", "Clavicle", Left);
            t["clavicle right"] = Sct("51299004", "Clavicle", Right);
            t["scapulas"] = Sct("79601000", "Scapula", RightAndLeft);
            t["scapula left"] = Sct("79601000", "Scapula", Left);
            t["scapula right"] = Sct("79601000", "Scapula", Right);

            // Ribs: a whole rib has a concept; its anterior or posterior part does not.
            var ordinals = new[] { "1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th", "10th", "11th", "12th" };
            foreach (var n in new[] { 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 })
                foreach (var part in new[] { "anterior", "posterior" })
                    foreach (var side in new[] { "right", "left" })
                    {
                        var label = $"{part} {ordinals[n - 1]} rib {side}";
                        if (!(n == 12 && part == "anterior")) Private(label);
                    }
            t["12th rib"] = Sct("43993008", "Twelfth rib", RightAndLeft);
            foreach (var n in new[] { 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1 })
                foreach (var part in new[] { "posterior", "anterior" })
                    Private($"{part} {ordinals[n - 1]} rib");

            // Diaphragm and abdomen
            t["diaphragm"] = Sct("5798000", "Diaphragm");
            Private("left hemidiaphragm");
            Private("right hemidiaphragm");
            t["stomach"] = Sct("69695003", "Stomach");
            t["small bowel"] = Sct("30315005", "Small intestine");
            t["duodenum"] = Sct("38848004", "Duodenum");
            t["liver"] = Sct("10200004", "Liver");
            t["pancreas"] = Sct("15776009", "Pancreas");
            t["kidney left"] = Sct("64033007", "Kidney", Left);
            t["kidney right"] = Sct("64033007", "Kidney", Right);

            // Mediastinum: the compartments are radiological divisions coded locally.
            Private("cardiomediastinum");
            Private("upper mediastinum");
            Private("lower mediastinum");
            Private("anterior mediastinum");
            Private("middle mediastinum");
            Private("posterior mediastinum");

            // Heart and vessels
            t["heart"] = Sct("80891009", "Heart");
            t["heart atrium left"] = Sct("82471001", "Left atrium");
            t["heart atrium right"] = Sct("73829009", "Right atrium");
            t["heart myocardium"] = Sct("74281007", "Myocardium");
            t["heart ventricle left"] = Sct("87878005", "Left ventricle");
            t["heart ventricle right"] = Sct("53085002", "Right ventricle");
            t["aorta"] = Sct("15825003", "Aorta");
            t["ascending aorta"] = Sct("54247002", "Ascending aorta");
            t["descending aorta"] = Sct("32672002", "Descending aorta");
            t["aortic arch"] = Sct("57034009", "Aortic arch");
            t["pulmonary artery"] = Sct("81040000", "Pulmonary artery");
            t["inferior vena cava"] = Sct("64131007", "Inferior vena cava");
            t["esophagus"] = Sct("32849002", "Esophagus");

            // Lungs: lungs and lobes have concepts, radiological zones do not.
            t["lung"] = Sct("39607008", "Lung", RightAndLeft);
            t["right lung"] = Sct("39607008", "Lung", Right);
            t["left lung"] = Sct("39607008", "Lung", Left);
            foreach (var zone in new[]
                     {
                         "lung base", "mid zone lung", "upper zone lung", "apical zone lung", "right upper zone lung", "right mid zone lung",
                         "right lung base", "right apical zone lung", "left upper zone lung", "left mid zone lung", "left lung base",
                         "left apical zone lung",
                     })
                Private(zone);
            t["lung lower lobe left"] = Sct("90572001", "Lower lobe of lung", Left);
            t["lung upper lobe left"] = Sct("45653009", "Upper lobe of lung", Left);
            t["lung lower lobe right"] = Sct("90572001", "Lower lobe of lung", Right);
            t["lung middle lobe right"] = Sct("72481006", "Middle lobe of right lung");
            t["lung upper lobe right"] = Sct("45653009", "Upper lobe of lung", Right);
            t["trachea"] = Sct("44567001", "Trachea");
            Private("tracheal bifurcation");
            t["breast"] = Sct("76752008", "Breast");
            t["breast left"] = Sct("76752008", "Breast", Left);
            t["breast right"] = Sct("76752008", "Breast", Right);
            return t;
        }
    }
}
