/// How `--functions auto` reads module instances off an equation's name stack (docs/functions.md).
/// Flax Linen records module names (`Model/Block_0/Dense_0`), Equinox class names
/// (`eqx.nn.MLP/eqx.nn.Linear`), and the tracer records `Type@path` for Flax NNX modules, which
/// record nothing themselves. In `auto` mode the tracer records `Type@path` for every Equinox
/// module call too, since Equinox's own names are the same for every instance of a class.
/// Consecutive equations with the same leading components belong to the same instances; a change
/// of component starts a new instance.
enum ModulePath {
    static let domain = "custom"

    /// The module components of a name stack: transformation markers (`vmap()`, `jvp(f)`,
    /// `transpose(...)`) are dropped, since they name no module.
    static func components(_ stack: String?) -> [Substring] {
        guard let stack, !stack.isEmpty else { return [] }
        var out: [Substring] = []
        for c in stack.split(separator: "/") where !c.contains("(") {
            // `Linear@layers.0/eqx.nn.Linear`: the tracer's name and Equinox's for one call.
            if let last = out.last, last.contains("@"), !c.contains("@"),
               functionName(last) == functionName(c) { continue }
            out.append(c)
        }
        return out
    }

    /// A function name a person reads: `Block@blocks.0` -> `Block`, `Dense_0` -> `Dense`,
    /// `eqx.nn.Linear` -> `Linear`.
    static func functionName(_ component: Substring) -> String {
        var name = component
        if let at = name.firstIndex(of: "@") { name = name[..<at] }
        if let dot = name.lastIndex(of: ".") { name = name[name.index(after: dot)...] }
        if let us = name.lastIndex(of: "_"), us != name.startIndex,
           name[name.index(after: us)...].allSatisfy(\.isNumber), name.index(after: us) != name.endIndex {
            name = name[..<us]
        }
        return name.isEmpty ? "Module" : String(name)
    }
}
