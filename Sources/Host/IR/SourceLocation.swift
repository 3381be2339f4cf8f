/// Where an equation came from in the user's code.
public struct SourceLocation: CustomStringConvertible {
    public var file: String
    public var line: Int
    public var function: String?
    public var description: String {
        function.map { "\(file):\(line) (\($0))" } ?? "\(file):\(line)"
    }
}
