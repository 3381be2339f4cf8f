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
    /// `transpose(...)`) are dropped, since they name no module, unless one wraps a tracer label.
    static func components(_ stack: String?) -> [Substring] {
        guard let stack, !stack.isEmpty else { return [] }
        var out: [Substring] = []
        for var c in stack.split(separator: "/") {
            if c.contains("(") {
                // `vmap(CNN@root)`: JAX wraps the first scope under a transformation in its
                // marker; a tracer label inside is still the module. Other markers name no module.
                guard let open = c.firstIndex(of: "("), c.last == ")", c.contains("@") else { continue }
                c = c[c.index(after: open)..<c.index(before: c.endIndex)]
                if c.contains("(") || c.contains("/") { continue }
            }
            // `Linear@layers.0/eqx.nn.Linear`, `Conv2d@conv/eqx.nn.Conv` (a subclass calling
            // its parent's __call__): the tracer's name and Equinox's for one call. A layer the
            // tracer could not place (built during the call) then joins its caller's body.
            if let last = out.last, last.contains("@"), !c.contains("@"),
               c.hasPrefix("eqx.") || functionName(last) == functionName(c) { continue }
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
