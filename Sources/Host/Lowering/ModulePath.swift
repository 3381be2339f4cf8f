/// How `--functions auto` reads module instances off an equation's name stack (docs/functions.md).
/// Flax Linen records module names (`Model/Block_0/Dense_0`), Equinox class names
/// (`eqx.nn.MLP/eqx.nn.Linear`), and the tracer records `Type@path` for Flax NNX modules, which
/// record nothing themselves. Consecutive equations with the same leading components belong to
/// the same instances; a change of component starts a new instance.
enum ModulePath {
    static let domain = "custom"

    /// The module components of a name stack: transformation markers (`vmap()`, `jvp(f)`,
    /// `transpose(...)`) are dropped, since they name no module.
    static func components(_ stack: String?) -> [Substring] {
        guard let stack, !stack.isEmpty else { return [] }
        return stack.split(separator: "/").filter { !$0.contains("(") }
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
