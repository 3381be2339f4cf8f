/// The traced JAX program as the bundle describes it (docs/bundle-format.md). Plain data: the host
/// gives it meaning only through the packs that claim its primitives.

/// A variable declaration; `id` is unique in the whole bundle.
public struct Variable {
    public var id: Int
    public var type: TensorType
}

public enum LiteralValue {
    case int(Int64)
    case double(Double)
    case bool(Bool)
    case tensor(Int)
}

public struct Literal {
    public var type: TensorType
    public var value: LiteralValue
}

public enum Atom {
    case variable(Int)
    case literal(Literal)
}

/// An equation output: a variable, or a value JAX drops (`_`) that still has a type.
public struct EquationOutput {
    public var id: Int?
    public var type: TensorType
}

public final class Equation {
    public let primitive: String
    public let inputs: [Atom]
    public let outputs: [EquationOutput]
    public let params: ParamNode
    public let source: SourceLocation?
    public let scope: String?
    /// Set on a call the user marked to export as an ONNX local function (`onnx_function`).
    public let function: FunctionMark?

    init(primitive: String, inputs: [Atom], outputs: [EquationOutput], params: ParamNode,
         source: SourceLocation?, scope: String?, function: FunctionMark? = nil) {
        self.primitive = primitive; self.inputs = inputs; self.outputs = outputs
        self.params = params; self.source = source; self.scope = scope; self.function = function
    }
}

/// The bundle's "function" field: what the ONNX function made of one call is called and whether
/// it may share its FunctionProto with equal calls.
public struct FunctionMark {
    public var name: String
    public var domain: String
    public var unique: Bool
}

public final class Jaxpr {
    public let constvars: [Variable]
    public let invars: [Variable]
    public let outvars: [Atom]
    public let equations: [Equation]

    init(constvars: [Variable], invars: [Variable], outvars: [Atom], equations: [Equation]) {
        self.constvars = constvars; self.invars = invars; self.outvars = outvars; self.equations = equations
    }

    /// Calls `body` for every equation here and in nested programs (params), depth first.
    public func forEachEquation(_ body: (Equation) -> Void) {
        for e in equations {
            body(e)
            e.params.forEachProgram { $0.forEachEquation(body) }
        }
    }
}

public enum ConstantValue {
    case tensor(Int)
    case opaque(String)
}

public final class ClosedJaxpr {
    public let jaxpr: Jaxpr
    public let consts: [ConstantValue]
    init(jaxpr: Jaxpr, consts: [ConstantValue]) { self.jaxpr = jaxpr; self.consts = consts }
}

/// A constant's place in the mapped bundle.
public struct TensorRef {
    public var dtype: DType
    public var shape: [Int64]
    /// Absolute offset in the bundle file.
    public var offset: Int
    public var nbytes: Int
}
