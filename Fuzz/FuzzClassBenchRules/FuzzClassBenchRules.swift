import FuzzSupport
import Glibc
import Lookup

// Fuzzes the ClassBench rule reader. Beyond "no crash": whatever it accepts must survive a
// write/read round trip unchanged, and load into tuplespace and linear with the same answers
// for flows at the rules' corners.

// The executable's entry: libFuzzer's driver, or corpus replay without the fuzzer runtime.
exit(fuzz_main(CommandLine.argc, CommandLine.unsafeArgv) { data, size in fuzzOneInput(data, size) })

func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  guard let rules = try? ClassBenchFormat.readRules(bytes: bytes, file: "fuzz") else { return 0 }
  let written = ClassBenchFormat.write(rules)
  guard let again = try? ClassBenchFormat.readRules(written, file: "rewritten") else {
    fatalError("the writer produced text its own reader refuses:\n\(written)")
  }
  precondition(again.rules == rules.rules, "a write/read round trip changed the rules")
  guard let all = try? rules.policies() else { fatalError("the reader built a rule that is not IPv4") }
  let policies = Array(all.prefix(64))
  guard let reference = try? LinearPolicyTable(inserting: policies),
        let subject = try? TupleSpaceTable(inserting: policies) else { return 0 }
  for rule in rules.rules.prefix(64) {
    let flow = ClassBenchHeader(source: UInt32(truncatingIfNeeded: rule.source.address.bits >> 96),
                                destination: UInt32(truncatingIfNeeded: rule.destination.address.bits >> 96),
                                sourcePort: rule.sourcePorts.lowerBound, destinationPort: rule.destinationPorts.upperBound,
                                proto: rule.protocolValue).flowKey()
    precondition(reference.lookup(flow) == subject.lookup(flow), "tuplespace disagrees with linear")
  }
  return 0
}
