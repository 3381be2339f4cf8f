import XCTest
@testable import Host

/// How `--functions auto` reads a name stack (docs/functions.md).
final class ModulePathTests: XCTestCase {
    func components(_ s: String) -> [String] { ModulePath.components(s).map(String.init) }

    func testTransformationMarkersNameNoModule() {
        XCTAssertEqual(components("Net_0/vmap()/Dense_1"), ["Net_0", "Dense_1"])
        XCTAssertEqual(components("jvp(relu)/Block@blocks.0"), ["Block@blocks.0"])
        XCTAssertEqual(components(""), [])
    }

    func testTracerLabelInsideVmapsMarkerIsTheModule() {
        XCTAssertEqual(components("vmap(CNN@root)/Linear@fc/eqx.nn.Linear"), ["CNN@root", "Linear@fc"])
    }

    func testEquinoxNamesAfterATracerLabelAreTheSameCall() {
        XCTAssertEqual(components("MLP@root/eqx.nn.MLP/Linear@layers.1/eqx.nn.Linear"), ["MLP@root", "Linear@layers.1"])
        // A subclass reaching its parent's __call__ records both classes.
        XCTAssertEqual(components("Conv2d@c1/eqx.nn.Conv"), ["Conv2d@c1"])
        XCTAssertEqual(components("MaxPool2d@pool/eqx.nn.MaxPool2d/eqx.nn.Pool"), ["MaxPool2d@pool"])
        // Without tracer labels (not auto-labelled), Equinox's own names are the modules.
        XCTAssertEqual(components("eqx.nn.MLP/eqx.nn.Linear"), ["eqx.nn.MLP", "eqx.nn.Linear"])
    }

    func testFunctionNames() {
        XCTAssertEqual(ModulePath.functionName("Block@blocks.0"), "Block")
        XCTAssertEqual(ModulePath.functionName("Dense_0"), "Dense")
        XCTAssertEqual(ModulePath.functionName("eqx.nn.Linear"), "Linear")
    }
}
