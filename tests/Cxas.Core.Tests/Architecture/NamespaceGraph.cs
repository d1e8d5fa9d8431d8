using System.Collections.Immutable;
using System.Reflection;
using System.Reflection.Emit;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Reflection.PortableExecutable;

namespace Cxas.Core.Tests.Architecture;

/// <summary>
/// The dependency graph between Cxas.Core's namespaces (one node per folder: Cxas.Models, Cxas.Dicom.Codecs,
/// Cxas.Dicom.Seg, ...), read from the compiled assembly's metadata, not from source, so a <c>using</c> that is never
/// used adds no edge and a fully qualified name cannot hide one. A type depends on every Core type its metadata names:
/// base type and interfaces, generic constraints, field, property, event and method signatures, custom attributes'
/// types (a typeof in an attribute's arguments is not read), and every token in its method bodies (calls, field
/// accesses, type tests, <c>ldtoken</c>, locals). Nested and
/// compiler-generated types (lambdas' closures, iterators, async state machines) count as their enclosing type's.
/// One use leaves no trace in metadata: a <c>const</c> is copied into its user by the compiler (an <c>ldstr</c> or
/// <c>ldc</c>), so naming another namespace's constant is no edge here (and no load-time dependency either); keep
/// shared constants in the lower layer all the same (<c>ModelNames.Reference</c>, <c>Int8Portability.SchemeKey</c>).
/// <para>The composition root (<c>Cxas.Composition</c>, the module initializer that names every built-in format) is a
/// node of its own, <see cref="CompositionRoot"/>: it sits above all other namespaces by design and nothing uses it.</para>
/// </summary>
internal sealed class NamespaceGraph
{
    internal const string CompositionRoot = "Cxas (composition root)";

    /// <summary>For each edge (from, to): the first type-level reference that makes it, for the failure message.</summary>
    internal Dictionary<(string From, string To), string> Edges { get; } = new();

    internal IEnumerable<string> Nodes => Edges.Keys.SelectMany(e => new[] { e.From, e.To }).Distinct();

    /// <summary>The same graph with nodes merged by <paramref name="node"/> (say, a folder into its top-level folder).</summary>
    internal NamespaceGraph Merge(Func<string, string> node)
    {
        var merged = new NamespaceGraph();
        foreach (var edge in Edges.OrderBy(e => e.Key.From, StringComparer.Ordinal).ThenBy(e => e.Key.To, StringComparer.Ordinal))
        {
            var key = (node(edge.Key.From), node(edge.Key.To));
            if (key.Item1 != key.Item2 && !merged.Edges.ContainsKey(key)) merged.Edges[key] = edge.Value;
        }
        return merged;
    }

    internal static NamespaceGraph Read(string assemblyPath)
    {
        using var stream = File.OpenRead(assemblyPath);
        using var pe = new PEReader(stream);
        var md = pe.GetMetadataReader();
        var graph = new NamespaceGraph();
        var reader = new Reader(md, pe, graph);
        foreach (var handle in md.TypeDefinitions) reader.ReadType(handle);
        return graph;
    }

    /// <summary>Walks one type definition's metadata and records an edge for every other-namespace Core type it names.</summary>
    private sealed class Reader
    {
        private readonly MetadataReader _md;
        private readonly PEReader _pe;
        private readonly NamespaceGraph _graph;
        private readonly Signatures _signatures;

        internal Reader(MetadataReader md, PEReader pe, NamespaceGraph graph)
        {
            _md = md;
            _pe = pe;
            _graph = graph;
            _signatures = new Signatures(md);
        }

        internal void ReadType(TypeDefinitionHandle handle)
        {
            var type = _md.GetTypeDefinition(handle);
            var source = NodeOf(handle);
            if (source is null) return;
            var name = DisplayName(handle);

            if (!type.BaseType.IsNil) Add(source, Types(type.BaseType), $"{name} derives from");
            foreach (var i in type.GetInterfaceImplementations())
                Add(source, Types(_md.GetInterfaceImplementation(i).Interface), $"{name} implements");
            Attributes(source, type.GetCustomAttributes(), name);
            Constraints(source, type.GetGenericParameters(), name);

            foreach (var f in type.GetFields())
            {
                var field = _md.GetFieldDefinition(f);
                var where = $"{name}.{_md.GetString(field.Name)}";
                Add(source, field.DecodeSignature(_signatures, null), $"field {where} is typed");
                Attributes(source, field.GetCustomAttributes(), where);
            }
            foreach (var p in type.GetProperties())
            {
                var property = _md.GetPropertyDefinition(p);
                var where = $"{name}.{_md.GetString(property.Name)}";
                Add(source, Flatten(property.DecodeSignature(_signatures, null)), $"property {where} is typed");
                Attributes(source, property.GetCustomAttributes(), where);
            }
            foreach (var e in type.GetEvents())
            {
                var ev = _md.GetEventDefinition(e);
                Add(source, Types(ev.Type), $"event {name}.{_md.GetString(ev.Name)} is typed");
            }
            foreach (var m in type.GetMethods()) ReadMethod(source, name, m);
        }

        private void ReadMethod(string source, string typeName, MethodDefinitionHandle handle)
        {
            var method = _md.GetMethodDefinition(handle);
            var where = $"{typeName}.{_md.GetString(method.Name)}";
            Add(source, Flatten(method.DecodeSignature(_signatures, null)), $"signature of {where} names");
            Attributes(source, method.GetCustomAttributes(), where);
            foreach (var p in method.GetParameters())
                Attributes(source, _md.GetParameter(p).GetCustomAttributes(), where);
            Constraints(source, method.GetGenericParameters(), where);
            if (method.RelativeVirtualAddress == 0) return;

            var body = _pe.GetMethodBody(method.RelativeVirtualAddress);
            if (!body.LocalSignature.IsNil)
            {
                var locals = _md.GetStandaloneSignature(body.LocalSignature).DecodeLocalSignature(_signatures, null);
                Add(source, locals.SelectMany(l => l), $"a local of {where} is typed");
            }
            var il = body.GetILReader();
            foreach (var token in IlTokens.Read(il))
                Add(source, Token(MetadataTokens.EntityHandle(token)), $"body of {where} uses");
        }

        private void Attributes(string source, CustomAttributeHandleCollection attributes, string where)
        {
            foreach (var a in attributes)
                Add(source, Token(_md.GetCustomAttribute(a).Constructor), $"attribute on {where} is");
        }

        private void Constraints(string source, GenericParameterHandleCollection parameters, string where)
        {
            foreach (var g in parameters)
            foreach (var c in _md.GetGenericParameter(g).GetConstraints())
                Add(source, Types(_md.GetGenericParameterConstraint(c).Type), $"constraint on {where} is");
        }

        /// <summary>The Core types an IL or attribute token names: a type, or a member's declaring type and signature.</summary>
        private IEnumerable<TypeDefinitionHandle> Token(EntityHandle handle)
        {
            switch (handle.Kind)
            {
                case HandleKind.TypeDefinition:
                case HandleKind.TypeReference:
                case HandleKind.TypeSpecification:
                    return Types(handle);
                case HandleKind.MethodDefinition:
                {
                    var m = _md.GetMethodDefinition((MethodDefinitionHandle)handle);
                    return new[] { m.GetDeclaringType() }.Concat(Flatten(m.DecodeSignature(_signatures, null)));
                }
                case HandleKind.FieldDefinition:
                {
                    var f = _md.GetFieldDefinition((FieldDefinitionHandle)handle);
                    return new[] { f.GetDeclaringType() }.Concat(f.DecodeSignature(_signatures, null));
                }
                case HandleKind.MemberReference:
                {
                    var r = _md.GetMemberReference((MemberReferenceHandle)handle);
                    var parent = r.Parent.Kind == HandleKind.MethodDefinition ? Token(r.Parent) : Types(r.Parent);
                    var signature = r.GetKind() == MemberReferenceKind.Method
                        ? Flatten(r.DecodeMethodSignature(_signatures, null))
                        : r.DecodeFieldSignature(_signatures, null);
                    return parent.Concat(signature);
                }
                case HandleKind.MethodSpecification:
                {
                    var s = _md.GetMethodSpecification((MethodSpecificationHandle)handle);
                    return Token(s.Method).Concat(s.DecodeSignature(_signatures, null).SelectMany(t => t));
                }
                case HandleKind.StandaloneSignature:
                {
                    var s = _md.GetStandaloneSignature((StandaloneSignatureHandle)handle);
                    return s.GetKind() == StandaloneSignatureKind.Method
                        ? Flatten(s.DecodeMethodSignature(_signatures, null))
                        : s.DecodeLocalSignature(_signatures, null).SelectMany(l => l);
                }
                default:
                    return Array.Empty<TypeDefinitionHandle>();   // strings (ldstr), module references
            }
        }

        private IEnumerable<TypeDefinitionHandle> Types(EntityHandle handle) => handle.Kind switch
        {
            HandleKind.TypeDefinition => new[] { (TypeDefinitionHandle)handle },
            HandleKind.TypeSpecification => _md.GetTypeSpecification((TypeSpecificationHandle)handle).DecodeSignature(_signatures, null),
            _ => Array.Empty<TypeDefinitionHandle>(),   // a type of another assembly
        };

        private static IEnumerable<TypeDefinitionHandle> Flatten(MethodSignature<ImmutableArray<TypeDefinitionHandle>> s) =>
            s.ReturnType.Concat(s.ParameterTypes.SelectMany(p => p));

        private void Add(string source, IEnumerable<TypeDefinitionHandle> targets, string how)
        {
            foreach (var target in targets)
            {
                var node = NodeOf(target);
                if (node is null || node == source) continue;
                var key = (source, node);
                if (!_graph.Edges.ContainsKey(key)) _graph.Edges[key] = $"{how} {DisplayName(target)}";
            }
        }

        /// <summary>A type's node: its (outermost enclosing type's) namespace, or null outside Cxas.</summary>
        private string? NodeOf(TypeDefinitionHandle handle)
        {
            var outer = Outermost(handle);
            var type = _md.GetTypeDefinition(outer);
            var ns = _md.GetString(type.Namespace);
            if (ns == "Cxas" && _md.GetString(type.Name) == "Composition") return CompositionRoot;
            return ns == "Cxas" || ns.StartsWith("Cxas.", StringComparison.Ordinal) ? ns : null;
        }

        private TypeDefinitionHandle Outermost(TypeDefinitionHandle handle)
        {
            while (true)
            {
                var declaring = _md.GetTypeDefinition(handle).GetDeclaringType();
                if (declaring.IsNil) return handle;
                handle = declaring;
            }
        }

        private string DisplayName(TypeDefinitionHandle handle)
        {
            var type = _md.GetTypeDefinition(handle);
            var name = _md.GetString(type.Name);
            var declaring = type.GetDeclaringType();
            return declaring.IsNil ? $"{_md.GetString(type.Namespace)}.{name}" : $"{DisplayName(declaring)}+{name}";
        }
    }

    /// <summary>Decodes a signature blob to the set of this assembly's type definitions it names (generic arguments included).</summary>
    private sealed class Signatures : ISignatureTypeProvider<ImmutableArray<TypeDefinitionHandle>, object?>
    {
        private static readonly ImmutableArray<TypeDefinitionHandle> None = ImmutableArray<TypeDefinitionHandle>.Empty;
        private readonly MetadataReader _md;

        internal Signatures(MetadataReader md) => _md = md;

        public ImmutableArray<TypeDefinitionHandle> GetTypeFromDefinition(MetadataReader r, TypeDefinitionHandle h, byte kind) => ImmutableArray.Create(h);
        public ImmutableArray<TypeDefinitionHandle> GetTypeFromReference(MetadataReader r, TypeReferenceHandle h, byte kind) => None;
        public ImmutableArray<TypeDefinitionHandle> GetTypeFromSpecification(MetadataReader r, object? c, TypeSpecificationHandle h, byte kind) =>
            _md.GetTypeSpecification(h).DecodeSignature(this, c);
        public ImmutableArray<TypeDefinitionHandle> GetPrimitiveType(PrimitiveTypeCode code) => None;
        public ImmutableArray<TypeDefinitionHandle> GetGenericTypeParameter(object? c, int index) => None;
        public ImmutableArray<TypeDefinitionHandle> GetGenericMethodParameter(object? c, int index) => None;
        public ImmutableArray<TypeDefinitionHandle> GetSZArrayType(ImmutableArray<TypeDefinitionHandle> e) => e;
        public ImmutableArray<TypeDefinitionHandle> GetArrayType(ImmutableArray<TypeDefinitionHandle> e, ArrayShape shape) => e;
        public ImmutableArray<TypeDefinitionHandle> GetByReferenceType(ImmutableArray<TypeDefinitionHandle> e) => e;
        public ImmutableArray<TypeDefinitionHandle> GetPointerType(ImmutableArray<TypeDefinitionHandle> e) => e;
        public ImmutableArray<TypeDefinitionHandle> GetPinnedType(ImmutableArray<TypeDefinitionHandle> e) => e;
        public ImmutableArray<TypeDefinitionHandle> GetModifiedType(ImmutableArray<TypeDefinitionHandle> m, ImmutableArray<TypeDefinitionHandle> u, bool required) => m.AddRange(u);
        public ImmutableArray<TypeDefinitionHandle> GetGenericInstantiation(ImmutableArray<TypeDefinitionHandle> g, ImmutableArray<ImmutableArray<TypeDefinitionHandle>> args) =>
            g.AddRange(args.SelectMany(a => a));
        public ImmutableArray<TypeDefinitionHandle> GetFunctionPointerType(MethodSignature<ImmutableArray<TypeDefinitionHandle>> s) =>
            s.ReturnType.AddRange(s.ParameterTypes.SelectMany(p => p));
    }

    /// <summary>
    /// The metadata tokens in a method body. Operand sizes come from <see cref="OpCodes"/>, so every instruction is
    /// stepped over exactly; the tokens are the operands of InlineMethod, InlineField, InlineType, InlineTok and
    /// InlineSig instructions (InlineString's are user strings, not metadata).
    /// </summary>
    private static class IlTokens
    {
        private static readonly Dictionary<ushort, OperandType> Operands = typeof(OpCodes)
            .GetFields(BindingFlags.Public | BindingFlags.Static)
            .Select(f => (OpCode)f.GetValue(null)!)
            .ToDictionary(o => unchecked((ushort)o.Value), o => o.OperandType);

        internal static IEnumerable<int> Read(BlobReader il)
        {
            var tokens = new List<int>();
            while (il.RemainingBytes > 0)
            {
                ushort code = il.ReadByte();
                if (code == 0xFE) code = (ushort)(0xFE00 | il.ReadByte());
                switch (Operands[code])
                {
                    case OperandType.InlineMethod:
                    case OperandType.InlineField:
                    case OperandType.InlineType:
                    case OperandType.InlineTok:
                    case OperandType.InlineSig:
                        tokens.Add(il.ReadInt32());
                        break;
                    case OperandType.InlineNone: break;
                    case OperandType.ShortInlineBrTarget:
                    case OperandType.ShortInlineI:
                    case OperandType.ShortInlineVar: il.Offset += 1; break;
                    case OperandType.InlineVar: il.Offset += 2; break;
                    case OperandType.InlineI8:
                    case OperandType.InlineR: il.Offset += 8; break;
                    case OperandType.InlineSwitch:
                        var targets = il.ReadInt32();   // read before the offset is taken, or += would lose it
                        il.Offset += 4 * targets;
                        break;
                    default: il.Offset += 4; break;   // InlineBrTarget, InlineI, ShortInlineR, InlineString
                }
            }
            return tokens;
        }
    }
}
