using System.Text;
using Cxas.Imaging;
using Xunit;
using Xunit.Abstractions;

namespace Cxas.Core.Tests.Architecture;

/// <summary>
/// Cxas.Core's namespaces form layers: a namespace may use those below it, never one that (through any path) uses it
/// back. The graph is read from the compiled assembly (<see cref="NamespaceGraph"/>); a cycle fails the test with its
/// path and, for each edge, one reference that makes it, so the message says what to move.
/// </summary>
public sealed class NamespaceCycleTests
{
    private readonly ITestOutputHelper _output;

    public NamespaceCycleTests(ITestOutputHelper output) => _output = output;

    [Fact]
    public void CoreNamespacesFormNoCycle()
    {
        var graph = NamespaceGraph.Read(typeof(ImageLoader).Assembly.Location);
        var cycles = Cycles(graph);
        var report = Describe(graph, cycles);
        _output.WriteLine(report);
        Assert.True(cycles.Count == 0, report);
    }

    /// <summary>
    /// The same at the top level: a sub-folder (Cxas.Dicom.Seg, Cxas.Dicom.Codecs) counts as its top-level folder, so a
    /// folder cannot hide a cycle in a sub-folder of the namespace it uses.
    /// </summary>
    [Fact]
    public void CoreTopLevelNamespacesFormNoCycle()
    {
        var graph = NamespaceGraph.Read(typeof(ImageLoader).Assembly.Location).Merge(TopLevel);
        var cycles = Cycles(graph);
        var report = Describe(graph, cycles);
        _output.WriteLine(report);
        Assert.True(cycles.Count == 0, report);
    }

    private static string TopLevel(string node)
    {
        var parts = node.Split('.');
        return parts.Length > 2 && parts[0] == "Cxas" ? parts[0] + "." + parts[1] : node;
    }

    /// <summary>
    /// The graph reader itself sees edges: without them, a passing test would prove nothing. Each pair is one this
    /// code base has on purpose (Segmenter runs an ONNX session; the SEG writer reads DICOM tags; a mask writer takes a result).
    /// </summary>
    [Theory]
    [InlineData("Cxas.Segmentation", "Cxas.Inference")]
    [InlineData("Cxas.Dicom.Seg", "Cxas.Dicom")]
    [InlineData("Cxas.Export", "Cxas.Segmentation")]
    public void GraphHasKnownEdges(string from, string to)
    {
        var graph = NamespaceGraph.Read(typeof(ImageLoader).Assembly.Location);
        Assert.True(graph.Edges.ContainsKey((from, to)), $"{from} -> {to} missing; edges: {graph.Edges.Count}");
    }

    /// <summary>
    /// Every pair of namespaces that use each other, then one shortest cycle through each namespace that lies on any
    /// longer cycle (breadth-first from it back to itself); each cycle reported once whatever node it is found from.
    /// </summary>
    private static List<List<string>> Cycles(NamespaceGraph graph)
    {
        var next = graph.Edges.Keys.GroupBy(e => e.From)
            .ToDictionary(g => g.Key, g => g.Select(e => e.To).OrderBy(n => n, StringComparer.Ordinal).ToList());
        var found = new List<List<string>>();
        var seen = new HashSet<string>();
        foreach (var (from, to) in graph.Edges.Keys.OrderBy(e => e.From, StringComparer.Ordinal).ThenBy(e => e.To, StringComparer.Ordinal))
        {
            var pair = new List<string> { from, to };
            if (graph.Edges.ContainsKey((to, from)) && seen.Add(string.Join(">", Rotate(pair)))) found.Add(pair);
        }
        foreach (var start in graph.Nodes.OrderBy(n => n, StringComparer.Ordinal))
        {
            var cycle = ShortestCycle(start, next);
            if (cycle is null) continue;
            var key = string.Join(">", Rotate(cycle));
            if (seen.Add(key)) found.Add(cycle);
        }
        return found;
    }

    private static List<string>? ShortestCycle(string start, Dictionary<string, List<string>> next)
    {
        var parent = new Dictionary<string, string>();
        var queue = new Queue<string>();
        queue.Enqueue(start);
        while (queue.Count > 0)
        {
            var node = queue.Dequeue();
            foreach (var to in next.GetValueOrDefault(node) ?? new List<string>())
            {
                if (to == start)
                {
                    var path = new List<string> { node };
                    while (path[0] != start) path.Insert(0, parent[path[0]]);
                    return path;
                }
                if (parent.ContainsKey(to)) continue;
                parent[to] = node;
                queue.Enqueue(to);
            }
        }
        return null;
    }

    // A cycle's canonical form starts at its smallest name, so A>B and B>A are one cycle.
    private static IEnumerable<string> Rotate(List<string> cycle)
    {
        var first = cycle.IndexOf(cycle.Min(StringComparer.Ordinal)!);
        return cycle.Skip(first).Concat(cycle.Take(first));
    }

    /// <summary>An acyclic graph's layers: 0 uses no other namespace, n uses some of layer n-1 and none higher.</summary>
    private static IEnumerable<IGrouping<int, string>> Layers(NamespaceGraph graph)
    {
        var depth = new Dictionary<string, int>();
        int Depth(string node)
        {
            if (depth.TryGetValue(node, out var d)) return d;
            var uses = graph.Edges.Keys.Where(e => e.From == node).Select(e => Depth(e.To)).ToList();
            return depth[node] = uses.Count == 0 ? 0 : uses.Max() + 1;
        }
        return graph.Nodes.GroupBy(Depth).OrderBy(g => g.Key);
    }

    private static string Describe(NamespaceGraph graph, List<List<string>> cycles)
    {
        var text = new StringBuilder();
        text.AppendLine($"{graph.Nodes.Count()} namespaces, {graph.Edges.Count} edges, {cycles.Count} cycle(s)");
        if (cycles.Count == 0)
            foreach (var layer in Layers(graph))
                text.AppendLine($"  layer {layer.Key}: {string.Join(", ", layer.OrderBy(n => n, StringComparer.Ordinal))}");
        foreach (var cycle in cycles)
        {
            text.AppendLine("cycle: " + string.Join(" -> ", cycle.Append(cycle[0])));
            for (var i = 0; i < cycle.Count; i++)
            {
                var edge = (cycle[i], cycle[(i + 1) % cycle.Count]);
                text.AppendLine($"  {edge.Item1} -> {edge.Item2}: {graph.Edges[edge]}");
            }
        }
        return text.ToString();
    }
}
