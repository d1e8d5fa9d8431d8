using System.Globalization;
using System.Text;

namespace Cxas.Import
{
    /// <summary>A module-qualified name a pickle refers to with GLOBAL or STACK_GLOBAL.</summary>
    internal sealed class PickleGlobal
    {
        public string Module { get; }
        public string Name { get; }
        public PickleGlobal(string module, string name) { Module = module; Name = name; }
        public string FullName => Module + "." + Name;
        public override string ToString() => FullName;
    }

    /// <summary>A dict as unpickled: insertion-ordered, string keys looked up directly.</summary>
    internal sealed class PickleDict
    {
        public List<KeyValuePair<object, object?>> Items { get; } = new List<KeyValuePair<object, object?>>();
        private readonly Dictionary<string, int> _byString = new Dictionary<string, int>(StringComparer.Ordinal);

        public void Set(object key, object? value)
        {
            if (key is string s)
            {
                if (_byString.TryGetValue(s, out var i)) { Items[i] = new KeyValuePair<object, object?>(key, value); return; }
                _byString[s] = Items.Count;
            }
            Items.Add(new KeyValuePair<object, object?>(key, value));
        }

        public bool TryGet(string key, out object? value)
        {
            if (_byString.TryGetValue(key, out var i)) { value = Items[i].Value; return true; }
            value = null;
            return false;
        }

        public int Count => Items.Count;
    }

    /// <summary>The persistent id of a tensor storage: ('storage', torch.XStorage, key, location, numel).</summary>
    internal sealed class StorageRef
    {
        public TorchDType DType { get; }
        public string Key { get; }
        public long Count { get; }
        public StorageRef(TorchDType dtype, string key, long count) { DType = dtype; Key = key; Count = count; }
    }

    /// <summary>A tensor as <c>torch._utils._rebuild_tensor_v2</c> would build it, without its data.</summary>
    internal sealed class TensorRef
    {
        public StorageRef Storage { get; }
        public long Offset { get; }
        public long[] Shape { get; }
        public long[] Strides { get; }
        public TensorRef(StorageRef storage, long offset, long[] shape, long[] strides)
        {
            Storage = storage; Offset = offset; Shape = shape; Strides = strides;
        }
    }

    internal sealed class PickleNone
    {
        public static readonly PickleNone Value = new PickleNone();
        public override string ToString() => "None";
    }

    /// <summary>
    /// A restricted unpickler for PyTorch state dicts. It interprets the opcodes that dicts, lists, tuples, scalars
    /// and tensors need and never calls anything: REDUCE is honoured only for an allow-list of three callables whose
    /// effect it reproduces itself (OrderedDict(), _rebuild_tensor_v2, _rebuild_parameter), and any other GLOBAL is
    /// refused with a <see cref="CxasException"/> before it could be used.
    /// </summary>
    internal sealed class PickleReader
    {
        private const int MaxDepth = 10_000;
        private const int MaxMemo = 10_000_000;

        private readonly byte[] _data;
        private readonly string _path;
        private int _pos;
        private readonly List<object?> _stack = new List<object?>();
        private readonly Stack<int> _marks = new Stack<int>();
        private readonly Dictionary<long, object?> _memo = new Dictionary<long, object?>();

        private static readonly object Mark = new object();

        private static readonly Dictionary<string, TorchDType> StorageTypes = new Dictionary<string, TorchDType>(StringComparer.Ordinal)
        {
            ["FloatStorage"] = TorchDType.Float32,
            ["DoubleStorage"] = TorchDType.Float64,
            ["HalfStorage"] = TorchDType.Float16,
            ["BFloat16Storage"] = TorchDType.BFloat16,
            ["LongStorage"] = TorchDType.Int64,
            ["IntStorage"] = TorchDType.Int32,
            ["ShortStorage"] = TorchDType.Int16,
            ["CharStorage"] = TorchDType.Int8,
            ["ByteStorage"] = TorchDType.UInt8,
            ["BoolStorage"] = TorchDType.Bool,
        };

        public PickleReader(byte[] data, string path)
        {
            _data = data;
            _path = path;
        }

        /// <summary>Names this reader accepts in GLOBAL / STACK_GLOBAL.</summary>
        public static bool IsAllowed(string module, string name)
        {
            if (module == "collections" && name == "OrderedDict") return true;
            if (module == "torch._utils" && (name == "_rebuild_tensor_v2" || name == "_rebuild_parameter")) return true;
            if (module == "torch" && StorageTypes.ContainsKey(name)) return true;
            return false;
        }

        public object? Load()
        {
            while (true)
            {
                if (_pos >= _data.Length) throw Bad("the pickle ends without a STOP opcode");
                int at = _pos;
                byte op = _data[_pos++];
                switch (op)
                {
                    case 0x80: // PROTO
                        {
                            int version = ReadByte();
                            if (version > 5) throw Unsupported($"pickle protocol {version}");
                            break;
                        }
                    case 0x95: // FRAME (protocol 4): a length prefix only
                        ReadFixed(8);
                        break;
                    case (byte)'.': // STOP
                        if (_stack.Count != 1) throw Bad("the pickle stops with an unbalanced stack");
                        return _stack[0];
                    case (byte)'(': // MARK
                        _marks.Push(_stack.Count);
                        Push(Mark);
                        break;
                    case (byte)'0': Pop(); break; // POP
                    case (byte)'1': PopMark(); break; // POP_MARK
                    case (byte)'2': Push(Peek()); break; // DUP
                    case (byte)'N': Push(PickleNone.Value); break;
                    case 0x88: Push(true); break; // NEWTRUE
                    case 0x89: Push(false); break; // NEWFALSE
                    case (byte)'J': { var b = ReadFixed(4); Push((long)(b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24))); break; } // BININT, signed little-endian
                    case (byte)'K': Push((long)ReadByte()); break; // BININT1
                    case (byte)'M': { var b = ReadFixed(2); Push((long)(b[0] | (b[1] << 8))); break; } // BININT2
                    case 0x8a: Push(ReadLong(ReadByte())); break; // LONG1
                    case 0x8b: Push(ReadLong(ReadLength(4))); break; // LONG4
                    case (byte)'I': Push(ParseTextInt(ReadLine())); break; // INT (protocol 0)
                    case (byte)'L': Push(ParseTextInt(ReadLine().TrimEnd('L'))); break; // LONG (protocol 0)
                    case (byte)'G': // BINFLOAT, big-endian double
                        {
                            var b = ReadFixed(8);
                            if (BitConverter.IsLittleEndian) Array.Reverse(b);
                            Push(BitConverter.ToDouble(b, 0));
                            break;
                        }
                    case (byte)'X': Push(ReadUtf8(ReadLength(4))); break; // BINUNICODE
                    case 0x8c: Push(ReadUtf8(ReadByte())); break; // SHORT_BINUNICODE
                    case 0x8d: Push(ReadUtf8(ReadLength(8))); break; // BINUNICODE8
                    case (byte)'T': Push(ReadLatin1(ReadLength(4))); break; // BINSTRING
                    case (byte)'U': Push(ReadLatin1(ReadByte())); break; // SHORT_BINSTRING
                    case (byte)'B': Push(ReadFixed(ReadLength(4))); break; // BINBYTES
                    case (byte)'C': Push(ReadFixed(ReadByte())); break; // SHORT_BINBYTES
                    case (byte)')': Push(Array.Empty<object?>()); break; // EMPTY_TUPLE
                    case (byte)'t': Push(PopMark().ToArray()); break; // TUPLE
                    case 0x85: Push(new[] { Pop() }); break; // TUPLE1
                    case 0x86: { var b = Pop(); var a = Pop(); Push(new[] { a, b }); break; } // TUPLE2
                    case 0x87: { var c = Pop(); var b = Pop(); var a = Pop(); Push(new[] { a, b, c }); break; } // TUPLE3
                    case (byte)']': Push(new List<object?>()); break; // EMPTY_LIST
                    case (byte)'l': Push(PopMark()); break; // LIST
                    case (byte)'a': // APPEND
                        {
                            var item = Pop();
                            AsList(Peek(), at).Add(item);
                            break;
                        }
                    case (byte)'e': // APPENDS
                        {
                            var items = PopMark();
                            AsList(Peek(), at).AddRange(items);
                            break;
                        }
                    case (byte)'}': Push(new PickleDict()); break; // EMPTY_DICT
                    case (byte)'d': // DICT
                        {
                            var items = PopMark();
                            var dict = new PickleDict();
                            SetPairs(dict, items, at);
                            Push(dict);
                            break;
                        }
                    case (byte)'s': // SETITEM
                        {
                            var value = Pop();
                            var key = Pop();
                            AsDict(Peek(), at).Set(Key(key, at), value);
                            break;
                        }
                    case (byte)'u': // SETITEMS
                        {
                            var items = PopMark();
                            SetPairs(AsDict(Peek(), at), items, at);
                            break;
                        }
                    case (byte)'c': // GLOBAL "module\nname\n"
                        {
                            var module = ReadLine();
                            var name = ReadLine();
                            Push(Global(module, name));
                            break;
                        }
                    case 0x93: // STACK_GLOBAL
                        {
                            var name = Pop() as string;
                            var module = Pop() as string;
                            if (module == null || name == null) throw Bad("STACK_GLOBAL needs two strings");
                            Push(Global(module, name));
                            break;
                        }
                    case (byte)'R': // REDUCE
                        {
                            var args = Pop() as object?[];
                            var callable = Pop();
                            if (args == null) throw Bad($"REDUCE at offset {at} has no argument tuple");
                            Push(Reduce(callable, args, at));
                            break;
                        }
                    case (byte)'b': // BUILD: state for the object below; dict state on dicts/tensors is metadata
                        {
                            var state = Pop();
                            var target = Peek();
                            if (!(target is PickleDict || target is TensorRef))
                                throw Unsupported($"BUILD on a {Describe(target)} at offset {at}");
                            if (!(state is PickleDict || state is PickleNone || state is object?[]))
                                throw Unsupported($"BUILD with a {Describe(state)} state at offset {at}");
                            break;
                        }
                    case (byte)'Q': // BINPERSID
                        Push(PersistentLoad(Pop(), at));
                        break;
                    case (byte)'q': Memo(ReadByte()); break; // BINPUT
                    case (byte)'r': Memo(ReadLength(4)); break; // LONG_BINPUT
                    case 0x94: Memo(_memo.Count); break; // MEMOIZE
                    case (byte)'p': Memo(ParseTextInt(ReadLine())); break; // PUT
                    case (byte)'h': Push(Recall(ReadByte(), at)); break; // BINGET
                    case (byte)'j': Push(Recall(ReadLength(4), at)); break; // LONG_BINGET
                    case (byte)'g': Push(Recall(ParseTextInt(ReadLine()), at)); break; // GET
                    default:
                        throw Unsupported($"pickle opcode 0x{op:x2} at offset {at}");
                }
            }
        }

        private object Global(string module, string name)
        {
            if (!IsAllowed(module, name))
                throw new CxasException(CxasErrorKind.NotSupported,
                    $"Checkpoint '{_path}' refers to '{module}.{name}', which a state dict never needs; it was refused and nothing " +
                    "in the file was executed. Only tensors, dicts, lists and numbers can be imported.", _path);
            return new PickleGlobal(module, name);
        }

        private object Reduce(object? callable, object?[] args, int at)
        {
            if (!(callable is PickleGlobal g)) throw Unsupported($"REDUCE of a {Describe(callable)} at offset {at}");
            switch (g.FullName)
            {
                case "collections.OrderedDict":
                    if (args.Length != 0) throw Unsupported($"OrderedDict with arguments at offset {at}");
                    return new PickleDict();
                case "torch._utils._rebuild_tensor_v2":
                    {
                        if (args.Length < 4) throw Bad($"_rebuild_tensor_v2 at offset {at} has {args.Length} arguments");
                        if (!(args[0] is StorageRef storage)) throw Bad($"_rebuild_tensor_v2 at offset {at} has no storage");
                        var offset = AsLong(args[1], "storage offset", at);
                        var shape = AsLongs(args[2], "size", at);
                        var strides = AsLongs(args[3], "stride", at);
                        if (shape.Length != strides.Length) throw Bad($"tensor at offset {at} has {shape.Length} sizes but {strides.Length} strides");
                        return new TensorRef(storage, offset, shape, strides);
                    }
                case "torch._utils._rebuild_parameter":
                    if (args.Length < 1 || !(args[0] is TensorRef t)) throw Bad($"_rebuild_parameter at offset {at} has no tensor");
                    return t;
                default:
                    throw Unsupported($"calling '{g.FullName}' at offset {at}");
            }
        }

        private StorageRef PersistentLoad(object? pid, int at)
        {
            if (!(pid is object?[] t) || t.Length < 5 || !(t[0] is string tag) || tag != "storage")
                throw Unsupported($"a persistent id other than a tensor storage at offset {at}");
            if (!(t[1] is PickleGlobal type) || type.Module != "torch" || !StorageTypes.TryGetValue(type.Name, out var dtype))
                throw Unsupported($"storage type {Describe(t[1])} at offset {at}");
            if (!(t[2] is string key) || key.Length == 0 || key.Length > 64 || key.IndexOfAny(new[] { '/', '\\', '.' }) >= 0)
                throw Bad($"storage key {Describe(t[2])} at offset {at}");
            var count = AsLong(t[4], "storage size", at);
            if (count < 0) throw Bad($"negative storage size at offset {at}");
            return new StorageRef(dtype, key, count);
        }

        private void SetPairs(PickleDict dict, List<object?> items, int at)
        {
            if (items.Count % 2 != 0) throw Bad($"odd number of dict items at offset {at}");
            for (int i = 0; i < items.Count; i += 2) dict.Set(Key(items[i], at), items[i + 1]);
        }

        private object Key(object? key, int at)
        {
            if (key is string || key is long || key is bool || key is double) return key!;
            throw Unsupported($"a dict key of type {Describe(key)} at offset {at}");
        }

        private List<object?> AsList(object? value, int at) =>
            value as List<object?> ?? throw Bad($"APPEND to a {Describe(value)} at offset {at}");

        private PickleDict AsDict(object? value, int at) =>
            value as PickleDict ?? throw Bad($"SETITEM on a {Describe(value)} at offset {at}");

        private long AsLong(object? value, string what, int at) =>
            value is long l ? l : throw Bad($"{what} at offset {at} is a {Describe(value)}, not an integer");

        private long[] AsLongs(object? value, string what, int at)
        {
            if (!(value is object?[] items)) throw Bad($"{what} at offset {at} is a {Describe(value)}, not a tuple");
            var result = new long[items.Length];
            for (int i = 0; i < items.Length; i++) result[i] = AsLong(items[i], what, at);
            return result;
        }

        internal static string Describe(object? value)
        {
            switch (value)
            {
                case null: return "nothing";
                case PickleGlobal g: return "global " + g.FullName;
                case PickleDict _: return "dict";
                case List<object?> _: return "list";
                case object?[] _: return "tuple";
                case TensorRef _: return "tensor";
                case StorageRef _: return "storage";
                case string _: return "string";
                case long _: return "int";
                case double _: return "float";
                case bool _: return "bool";
                case byte[] _: return "bytes";
                case PickleNone _: return "None";
                default: return value.GetType().Name;
            }
        }

        private void Memo(long index)
        {
            if (_stack.Count == 0) throw Bad("memo store with an empty stack");
            if (index < 0 || index > MaxMemo) throw Bad($"memo index {index} is out of range");
            _memo[index] = Peek();
        }

        private object? Recall(long index, int at)
        {
            if (!_memo.TryGetValue(index, out var value)) throw Bad($"memo index {index} at offset {at} was never stored");
            return value;
        }

        private void Push(object? value)
        {
            if (_stack.Count >= MaxDepth * 100) throw Bad("the pickle's stack grows beyond any state dict's needs");
            _stack.Add(value);
        }

        private object? Pop()
        {
            if (_stack.Count == 0) throw Bad("pop from an empty stack");
            var top = _stack[_stack.Count - 1];
            if (ReferenceEquals(top, Mark)) throw Bad("a MARK was consumed as a value");
            _stack.RemoveAt(_stack.Count - 1);
            return top;
        }

        private object? Peek()
        {
            if (_stack.Count == 0) throw Bad("empty stack");
            var top = _stack[_stack.Count - 1];
            if (ReferenceEquals(top, Mark)) throw Bad("a MARK was used as a value");
            return top;
        }

        private List<object?> PopMark()
        {
            if (_marks.Count == 0) throw Bad("no MARK on the stack");
            int mark = _marks.Pop();
            var items = _stack.GetRange(mark + 1, _stack.Count - mark - 1);
            _stack.RemoveRange(mark, _stack.Count - mark);
            foreach (var item in items)
                if (ReferenceEquals(item, Mark)) throw Bad("nested MARK inside a collection");
            return items;
        }

        private int ReadByte()
        {
            if (_pos >= _data.Length) throw Truncated();
            return _data[_pos++];
        }

        private byte[] ReadFixed(long count)
        {
            if (count < 0 || count > _data.Length - _pos) throw Truncated();
            var result = new byte[count];
            Buffer.BlockCopy(_data, _pos, result, 0, (int)count);
            _pos += (int)count;
            return result;
        }

        /// <summary>An unsigned little-endian length, never more than what is left of the pickle.</summary>
        private long ReadLength(int bytes)
        {
            if (bytes > _data.Length - _pos) throw Truncated();
            ulong value = 0;
            for (int i = bytes - 1; i >= 0; i--) value = (value << 8) | _data[_pos + i];
            _pos += bytes;
            if (value > (ulong)_data.Length) throw Truncated();
            return (long)value;
        }

        private long ReadLong(long count)
        {
            if (count > 8) throw Unsupported($"an integer of {count} bytes");
            var b = ReadFixed(count);
            if (count == 0) return 0;
            long value = 0;
            for (int i = (int)count - 1; i >= 0; i--) value = (value << 8) | b[i];
            int shift = 64 - 8 * (int)count;
            return shift == 0 ? value : (value << shift) >> shift; // sign-extend two's complement
        }

        private string ReadUtf8(long count)
        {
            if (count < 0 || count > _data.Length - _pos) throw Truncated();
            var s = Encoding.UTF8.GetString(_data, _pos, (int)count);
            _pos += (int)count;
            return s;
        }

        private string ReadLatin1(long count)
        {
            if (count < 0 || count > _data.Length - _pos) throw Truncated();
            var chars = new char[count];
            for (int i = 0; i < count; i++) chars[i] = (char)_data[_pos + i];
            _pos += (int)count;
            return new string(chars);
        }

        private string ReadLine()
        {
            int start = _pos;
            int end = Array.IndexOf(_data, (byte)'\n', _pos, Math.Min(_data.Length - _pos, 4096));
            if (end < 0) throw Truncated();
            _pos = end + 1;
            return ReadLatin1At(start, end - start);
        }

        private string ReadLatin1At(int start, int count)
        {
            var chars = new char[count];
            for (int i = 0; i < count; i++) chars[i] = (char)_data[start + i];
            return new string(chars);
        }

        private long ParseTextInt(string text)
        {
            if (text == "01") return 1; // protocol 0 True
            if (text == "00") return 0;
            if (!long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v))
                throw Bad($"'{text}' is not an integer");
            return v;
        }

        private CxasException Truncated() => Bad("the pickle is truncated");

        private CxasException Bad(string why) =>
            new CxasException(CxasErrorKind.InvalidModel, $"Checkpoint '{_path}' is not a valid PyTorch state dict: {why}.", _path);

        private CxasException Unsupported(string what) =>
            new CxasException(CxasErrorKind.NotSupported, $"Checkpoint '{_path}' uses {what}, which the importer does not support.", _path);
    }
}
